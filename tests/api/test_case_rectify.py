"""From a case to a rectification over HTTP: POST /api/v1/cases/{id}/rectify/ (CONTRACT sections 8-9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.conftest import FULL_NAMES
from tracker import models as m
from tracker.inspections.case_services import case_create
from tracker.integrity.campaign_services import campaign_create

pytestmark = pytest.mark.django_db

BODY = {"description": "李四在校外租房有偿补课：学校须排查并整改在职教师有偿补课问题。", "rectify_by": "2027-01-31"}


def _campaign(actor, authority, title: str) -> m.Campaign:
    """A self-inspection campaign of `authority`, due in a month, not yet active."""
    return campaign_create(
        actor=actor, authority=authority, title=title, lists=["micro_power"], due_at=timezone.now() + timedelta(days=30)
    )


def _rectify(client, case: m.Case, body: dict | None = None):
    return client.post(f"/api/v1/cases/{case.pk}/rectify/", BODY if body is None else body, format="json")


def test_an_inspector_orders_the_cases_school_a_rectification_task(district, casework, client_for):
    response = _rectify(client_for(district.inspector), casework.reported)

    assert response.status_code == 201, response.content
    task = m.Task.objects.get(pk=response.json()["task"])
    assert (task.kind, task.school_id, task.status) == ("rectification", district.school_a.pk, "not_started")
    assert timezone.localtime(task.due_at).date().isoformat() == "2027-01-31"
    assert task.original_due_at == task.due_at
    # The school will read this text: the person is surname + 某, never the full name.
    assert task.requirement.startswith("李某在校外租房有偿补课")
    assert "李四" not in task.requirement and "李四" not in task.title
    # Without a campaign named: the authority's "<year> case rectifications" campaign.
    assert (task.campaign.authority_id, task.campaign.kind, task.campaign.status) == (
        district.bureau.pk,
        "cases",
        "active",
    )
    case = client_for(district.inspector).get(f"/api/v1/cases/{casework.reported.pk}/").json()
    assert case["rectifications"] == [task.pk]
    ordered = m.Event.objects.get(type="case.rectification_ordered", subject_id=str(casework.reported.pk))
    assert ordered.data["task"] == task.pk
    created = m.Event.objects.get(type="rectification.created", task=task)
    assert "李四" not in json.dumps(created.data, ensure_ascii=False)


def test_a_supervisor_orders_one_too_in_a_campaign_of_the_authority(district, casework, client_for):
    campaign = _campaign(district.supervisor, district.bureau, "2026 自查自纠")
    m.Campaign.objects.filter(pk=campaign.pk).update(status="active", activated_at=timezone.now())
    response = _rectify(client_for(district.supervisor), casework.reported, {**BODY, "campaign": campaign.pk})

    assert response.status_code == 201, response.content
    assert m.Task.objects.get(pk=response.json()["task"]).campaign_id == campaign.pk


def test_the_school_finds_the_task_in_its_list_without_a_name(district, casework, client_for):
    task_id = _rectify(client_for(district.inspector), casework.reported).json()["task"]
    school = client_for(district.school_a_user)

    listed = school.get("/api/v1/tasks/", {"kind": "rectification"})
    assert [t["id"] for t in listed.json()["results"]] == [task_id]
    detail = school.get(f"/api/v1/tasks/{task_id}/")
    assert detail.status_code == 200
    for body in (listed.content.decode(), detail.content.decode()):
        assert not [name for name in FULL_NAMES if name in body]
    # The case itself stays out of the school's reach.
    assert school.get(f"/api/v1/cases/{casework.reported.pk}/").status_code == 404


def test_who_may_not_order_one_and_in_which_order_they_hear_it(district, casework, client_for):
    missing = client_for(district.school_a_user).post("/api/v1/cases/999999999/rectify/", BODY, format="json")
    for user in (district.school_a_user, district.school_b_user, district.other_supervisor):
        response = _rectify(client_for(user), casework.reported)
        assert response.status_code == 404
        assert response.json() == missing.json()
    # A school member's bad body still reads as not found: scope is judged first.
    assert _rectify(client_for(district.school_a_user), casework.reported, {"rectify_by": "x"}).status_code == 404
    assert not m.Task.objects.filter(kind="rectification").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rectify_by": "2027-01-31"}, "description"),
        ({"description": "   ", "rectify_by": "2027-01-31"}, "description"),
        ({"description": "整改"}, "rectify_by"),
        ({"description": "整改", "rectify_by": "2020-01-31"}, "rectify_by"),
        ({"description": "整改", "rectify_by": "9999-12-31"}, "rectify_by"),
        ({**BODY, "campaign": 999999999}, "campaign"),
        ({**BODY, "school": 1}, "school"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_writes_nothing(district, casework, client_for, body, field):
    response = _rectify(client_for(district.inspector), casework.reported, body)
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json())
    assert not m.Task.objects.filter(kind="rectification").exists()


def test_another_authoritys_campaign_reads_like_none(district, casework, client_for):
    other = _campaign(district.other_supervisor, district.other_bureau, "定海自查")
    response = _rectify(client_for(district.inspector), casework.reported, {**BODY, "campaign": other.pk})
    unknown = _rectify(client_for(district.inspector), casework.reported, {**BODY, "campaign": 999999999})
    assert response.status_code == unknown.status_code == 400
    # The same words as for an id that does not exist (each answer repeats the id it was given).
    assert json.dumps(response.json(), ensure_ascii=False).replace(str(other.pk), "N") == json.dumps(
        unknown.json(), ensure_ascii=False
    ).replace("999999999", "N")


def test_a_case_without_a_school_or_a_closed_campaign_is_a_409(district, casework, client_for):
    no_school = case_create(
        actor=district.inspector,
        authority=district.bureau,
        type="other",
        occurred_on=datetime(2026, 2, 1, tzinfo=UTC).date(),
        summary="群众举报，尚未查明学校。",
        persons=[],
    )
    assert _rectify(client_for(district.inspector), no_school).status_code == 409
    campaign = _campaign(district.supervisor, district.bureau, "未启动的自查")
    response = _rectify(client_for(district.inspector), casework.reported, {**BODY, "campaign": campaign.pk})
    assert response.status_code == 409, response.content
    assert not m.Task.objects.filter(kind="rectification").exists()
