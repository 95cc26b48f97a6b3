"""The inbox and the flags list over HTTP: own notifications only, read marks, scope of flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker import models as m
from tracker.monitoring.sweep import sweep_run

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)


@pytest.fixture
def swept(district):
    sweep_run(now=DUE + timedelta(days=8))
    return district


def test_the_inbox_lists_only_the_callers_notifications(swept, client_for):
    body = client_for(swept.school_a_user).get("/api/v1/notifications/").json()

    assert body["count"] == m.Notification.objects.filter(recipient=swept.school_a_user).count() > 0
    assert {row["school"] for row in body["results"]} == {swept.school_a.pk}
    row = body["results"][0]
    assert set(row) >= {"id", "kind", "title", "body", "task", "school", "created_at", "read_at"}
    assert {r["kind"] for r in body["results"]} == {"overdue", "flag_opened", "flag_critical"}


def test_reading_marks_once_and_filters_unread(swept, client_for):
    client = client_for(swept.school_a_user)
    first = client.get("/api/v1/notifications/?unread=true").json()["results"][0]

    answer = client.post(f"/api/v1/notifications/{first['id']}/read/")
    again = client.post(f"/api/v1/notifications/{first['id']}/read/")

    assert answer.status_code == 200
    assert answer.json()["read_at"] is not None
    assert again.json()["read_at"] == answer.json()["read_at"]  # the first read time stays
    unread = client.get("/api/v1/notifications/?unread=true").json()
    assert first["id"] not in {r["id"] for r in unread["results"]}
    read = client.get("/api/v1/notifications/?unread=false").json()
    assert [r["id"] for r in read["results"]] == [first["id"]]


def test_someone_elses_notification_is_404_and_stays_unread(swept, client_for):
    theirs = m.Notification.objects.filter(recipient=swept.school_a_user).first()

    for intruder in (swept.school_b_user, swept.supervisor, swept.other_supervisor):
        client = client_for(intruder)
        assert client.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
        assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404

    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_marks_only_mine(swept, client_for):
    answer = client_for(swept.school_a_user).post("/api/v1/notifications/read-all/")

    assert answer.status_code == 200
    assert answer.json()["marked"] > 0
    assert not m.Notification.objects.filter(recipient=swept.school_a_user, read_at__isnull=True).exists()
    assert m.Notification.objects.filter(recipient=swept.supervisor, read_at__isnull=True).exists()


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_bad_unread_filter_is_400(swept, client_for, value):
    assert client_for(swept.school_a_user).get(f"/api/v1/notifications/?unread={value}").status_code == 400


def test_anonymous_gets_401(client_for, db):
    assert client_for(None).get("/api/v1/notifications/").status_code == 401


# --- Flags ----------------------------------------------------------------------------------------
def test_flags_are_listed_within_scope(swept, client_for):
    def schools(user, query=""):
        body = client_for(user).get(f"/api/v1/flags/{query}").json()
        return {row["school"] for row in body["results"]}

    assert schools(swept.supervisor) == {swept.school_a.pk, swept.school_b.pk}
    assert schools(swept.inspector) == {swept.school_a.pk, swept.school_b.pk}
    assert schools(swept.school_a_user) == {swept.school_a.pk}
    assert schools(swept.other_supervisor) == {swept.other_school.pk}
    assert schools(swept.supervisor, f"?school={swept.school_b.pk}&open=true") == {swept.school_b.pk}


def test_a_flag_has_the_contract_fields(swept, client_for):
    row = client_for(swept.supervisor).get(f"/api/v1/flags/?cycle={swept.cycle.pk}&open=true").json()["results"][0]

    assert set(row) >= {
        "id",
        "cycle",
        "school",
        "severity",
        "overdue_count",
        "max_days_overdue",
        "opened_at",
        "escalated_at",
        "resolved_at",
    }
    assert (row["severity"], row["overdue_count"], row["max_days_overdue"]) == ("critical", 1, 8)


def test_another_districts_flag_is_404_and_its_cycle_filter_400(swept, client_for):
    theirs = m.Flag.objects.get(school=swept.other_school)
    client = client_for(swept.supervisor)

    assert client.get(f"/api/v1/flags/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/flags/?cycle={swept.other_cycle.pk}").status_code == 400
    assert (
        client_for(swept.school_b_user)
        .get(f"/api/v1/flags/{m.Flag.objects.get(school=swept.school_a).pk}/")
        .status_code
        == 404
    )


def test_resolved_flags_leave_the_open_list(swept, client_for):
    m.Task.objects.filter(school=swept.school_a).update(status=m.TaskStatus.SUBMITTED)
    sweep_run(now=DUE + timedelta(days=9))

    client = client_for(swept.supervisor)
    open_ = client.get("/api/v1/flags/?open=true").json()["results"]
    closed = client.get("/api/v1/flags/?open=false").json()["results"]

    assert {r["school"] for r in open_} == {swept.school_b.pk}
    assert [r["school"] for r in closed] == [swept.school_a.pk]
    assert closed[0]["resolved_at"] is not None
