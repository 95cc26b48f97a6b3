"""Deadline inputs (CONTRACT section 2, v2): a bare date means the end of that day (23:59:59) in TIME_ZONE,
for every deadline the API takes; dates at the ends of the calendar are refused with 400, never a 500."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from tests.factories import EvidenceFactory
from tracker import models as m
from tracker.assessment.task_services import task_submit

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_JULY_15 = datetime(2030, 7, 15, 23, 59, 59, tzinfo=SHANGHAI)


def submitted(task: m.Task, district) -> m.Task:
    EvidenceFactory(task=task)
    return task_submit(task=task, actor=district.school_a_user)


def test_a_criterion_due_on_a_bare_date_is_due_at_the_end_of_that_day(district, client_for):
    client = client_for(district.supervisor)
    body = {"cycle": district.cycle.pk, "code": "K9", "title": "t", "category": "c", "max_score": "5"}

    created = client.post("/api/v1/criteria/", {**body, "due_at": "2030-07-15"}, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["due_at"] == "2030-07-15T23:59:59+08:00"
    assert m.Criterion.objects.get(pk=created.json()["id"]).due_at == END_OF_JULY_15
    moved = client.patch(f"/api/v1/criteria/{created.json()['id']}/", {"due_at": "2030-08-01"}, format="json")
    assert moved.json()["due_at"] == "2030-08-01T23:59:59+08:00"
    assert set(m.Task.objects.filter(criterion_id=created.json()["id"]).values_list("due_at", flat=True)) == {
        datetime(2030, 8, 1, 23, 59, 59, tzinfo=SHANGHAI)
    }


def test_extend_and_return_take_a_bare_date_as_the_end_of_that_day(district, task_a, task_b, client_for):
    client = client_for(district.supervisor)

    extended = client.post(f"/api/v1/tasks/{task_a.pk}/extend/", {"due_at": "2030-07-15", "reason": "r"}, format="json")
    submitted(task_b, district)
    returned = client.post(
        f"/api/v1/tasks/{task_b.pk}/return/", {"reason": "redo", "rework_due_at": "2030-07-15"}, format="json"
    )

    assert extended.status_code == returned.status_code == 200
    task_a.refresh_from_db()
    task_b.refresh_from_db()
    assert task_a.due_at == task_b.due_at == END_OF_JULY_15


def test_an_urge_answer_due_on_a_bare_date_is_due_at_the_end_of_that_day(district, client_for):
    body = {"cycle": district.cycle.pk, "school": district.school_a.pk, "message": "m", "respond_by": "2030-07-15"}

    response = client_for(district.supervisor).post("/api/v1/urges/", body, format="json")

    assert response.status_code == 201, response.content
    assert m.Urge.objects.get().respond_by == END_OF_JULY_15


@override_settings(TIME_ZONE="America/New_York")
def test_the_end_of_the_day_is_judged_in_the_configured_time_zone(district, task_a, client_for):
    response = client_for(district.supervisor).post(
        f"/api/v1/tasks/{task_a.pk}/extend/", {"due_at": "2030-07-15", "reason": "r"}, format="json"
    )

    assert response.status_code == 200
    task_a.refresh_from_db()
    assert task_a.due_at == datetime(2030, 7, 15, 23, 59, 59, tzinfo=ZoneInfo("America/New_York"))


def test_a_moment_with_a_time_is_taken_as_given(district, task_a, client_for):
    client_for(district.supervisor).post(
        f"/api/v1/tasks/{task_a.pk}/extend/", {"due_at": "2030-07-15T09:30:00+08:00", "reason": "r"}, format="json"
    )
    task_a.refresh_from_db()
    assert task_a.due_at == datetime(2030, 7, 15, 9, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize("respond_by", ["9999-12-31T23:59:59Z", "9999-12-31", "2100-03-01T00:00:00+08:00"])
def test_an_urge_answer_due_in_the_far_future_is_refused(district, client_for, respond_by):
    body = {"cycle": district.cycle.pk, "school": district.school_a.pk, "message": "m", "respond_by": respond_by}

    response = client_for(district.supervisor).post("/api/v1/urges/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["respond_by"]
    assert not m.Urge.objects.exists()


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/tasks/", {"due_before": "0001-01-01"}, "due_before"),
        ("/api/v1/tasks/", {"due_after": "0001-01-01T00:00:00+14:00"}, "due_after"),
        ("/api/v1/tasks/", {"due_before": "9999-12-31T23:59:59-12:00"}, "due_before"),
        ("/api/v1/dashboards/trend/", {"until": "9999-12-31"}, "until"),
        ("/api/v1/dashboards/trend/", {"since": "0001-01-01"}, "since"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_in_queries_are_400(district, client_for, url, params, field):
    response = client_for(district.supervisor).get(url, {"cycle": district.cycle.pk, **params})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
