"""Urges over HTTP: a supervisor urges a school, the school is notified and answers once; late
answers are reminded; every refusal in the contract's order (404, 403, 400, 409)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tracker import models as m
from tracker.audit.dispatch import event_handle
from tracker.monitoring.sweep import sweep_run

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def urge_body(district, **over):
    body = {
        "cycle": district.cycle.pk,
        "school": district.school_a.pk,
        "message": "Please upload the integrity-risk register.",
        "respond_by": (timezone.now() + timedelta(days=3)).isoformat(),
    }
    return {**body, **over}


def handle_all_events() -> None:
    for dispatch in m.EventDispatch.objects.filter(done_at__isnull=True).order_by("event_id"):
        event_handle(event_id=dispatch.event_id)


def test_a_supervisor_urges_a_school_which_is_notified(district, client_for):
    district.school_a_user.memberships.update(language="en")

    answer = client_for(district.supervisor).post("/api/v1/urges/", urge_body(district), format="json")
    handle_all_events()

    assert answer.status_code == 201
    urge = answer.json()
    assert {k: urge[k] for k in ("cycle", "school", "response", "responded_at")} == {
        "cycle": district.cycle.pk,
        "school": district.school_a.pk,
        "response": "",
        "responded_at": None,
    }
    notes = m.Notification.objects.filter(kind="urge")
    assert list(notes.values_list("recipient_id", flat=True)) == [district.school_a_user.pk]
    assert notes.get().title.startswith("Urge from Putuo Education Bureau")
    # handled again (the relay): still one notification
    event = m.Event.objects.get(type="urge.created")
    m.EventDispatch.objects.filter(event=event).update(done_at=None)
    event_handle(event_id=event.pk)
    assert notes.count() == 1


def test_the_school_answers_once(district, client_for):
    urge_id = client_for(district.supervisor).post("/api/v1/urges/", urge_body(district), format="json").json()["id"]
    school = client_for(district.school_a_user)

    first = school.post(f"/api/v1/urges/{urge_id}/respond/", {"response": "Uploaded today."}, format="json")
    second = school.post(f"/api/v1/urges/{urge_id}/respond/", {"response": "Again."}, format="json")

    assert first.status_code == 200
    assert first.json()["response"] == "Uploaded today."
    assert first.json()["responded_by"] == district.school_a_user.username
    assert second.status_code == 409
    assert second.json()["code"] == "invalid_state"
    assert m.Urge.objects.get(pk=urge_id).response == "Uploaded today."


def test_urges_are_listed_within_scope(district, client_for):
    client_for(district.supervisor).post("/api/v1/urges/", urge_body(district), format="json")
    client_for(district.supervisor).post(
        "/api/v1/urges/", urge_body(district, school=district.school_b.pk), format="json"
    )

    def schools(user):
        return {row["school"] for row in client_for(user).get("/api/v1/urges/").json()["results"]}

    assert schools(district.supervisor) == {district.school_a.pk, district.school_b.pk}
    assert schools(district.inspector) == {district.school_a.pk, district.school_b.pk}
    assert schools(district.school_a_user) == {district.school_a.pk}
    assert schools(district.other_supervisor) == set()


@pytest.mark.parametrize("who", ["school_a_user", "inspector"])
def test_only_supervisors_urge(district, client_for, who):
    answer = client_for(getattr(district, who)).post("/api/v1/urges/", urge_body(district), format="json")

    assert answer.status_code == 403
    assert not m.Urge.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"message": ""}, "message"),
        ({"respond_by": "yesterday"}, "respond_by"),
        ({"school": 10**9}, "school"),
        ({"cycle": "x"}, "cycle"),
        ({"status": "answered"}, "status"),  # unknown fields are refused
    ],
)
def test_bad_bodies_are_400(district, client_for, change, field):
    answer = client_for(district.supervisor).post("/api/v1/urges/", urge_body(district, **change), format="json")

    assert answer.status_code == 400
    assert field in str(answer.json())


def test_respond_by_in_the_past_is_400(district, client_for):
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    answer = client_for(district.supervisor).post("/api/v1/urges/", urge_body(district, respond_by=past), format="json")
    assert answer.status_code == 400


def test_urging_a_school_out_of_scope_is_refused_like_a_missing_one(district, client_for):
    answer = client_for(district.supervisor).post(
        "/api/v1/urges/",
        urge_body(district, school=district.other_school.pk, cycle=district.other_cycle.pk),
        format="json",
    )
    assert answer.status_code == 400
    assert not m.Urge.objects.exists()


def test_a_closed_cycle_is_409(district, client_for):
    m.Cycle.objects.filter(pk=district.cycle.pk).update(status=m.CycleStatus.CLOSED)

    answer = client_for(district.supervisor).post("/api/v1/urges/", urge_body(district), format="json")

    assert answer.status_code == 409


def test_responding_out_of_scope_is_404_then_wrong_role_403_then_bad_body_400(district, client_for):
    urge_id = client_for(district.supervisor).post("/api/v1/urges/", urge_body(district), format="json").json()["id"]
    url = f"/api/v1/urges/{urge_id}/respond/"

    assert client_for(district.school_b_user).post(url, {"response": "x"}, format="json").status_code == 404
    assert client_for(district.other_supervisor).post(url, {"response": "x"}, format="json").status_code == 404
    assert client_for(district.supervisor).post(url, {"response": "x"}, format="json").status_code == 403
    assert client_for(district.school_a_user).post(url, {"response": ""}, format="json").status_code == 400
    assert m.Urge.objects.get(pk=urge_id).responded_at is None


def test_a_late_answer_is_reminded_once(district, client_for):
    urge_id = client_for(district.supervisor).post("/api/v1/urges/", urge_body(district), format="json").json()["id"]
    respond_by = m.Urge.objects.get(pk=urge_id).respond_by

    sweep_run(now=respond_by - timedelta(hours=1))
    assert not m.Reminder.objects.filter(urge_id=urge_id).exists()

    sweep_run(now=respond_by + timedelta(hours=1))
    sweep_run(now=respond_by + timedelta(days=2))

    # urge_overdue to the school; urge_unanswered to its bureau (issue 13, item 12): each once
    kinds = sorted(m.Reminder.objects.filter(urge_id=urge_id).values_list("kind", flat=True))
    assert kinds == ["urge_overdue", "urge_unanswered"]
    notes = m.Notification.objects.filter(kind="urge_overdue")
    assert list(notes.values_list("recipient_id", flat=True)) == [district.school_a_user.pk]


def test_an_answered_urge_is_not_reminded(district, client_for):
    urge_id = client_for(district.supervisor).post("/api/v1/urges/", urge_body(district), format="json").json()["id"]
    client_for(district.school_a_user).post(f"/api/v1/urges/{urge_id}/respond/", {"response": "done"}, format="json")

    sweep_run(now=timezone.now() + timedelta(days=5))

    assert not m.Reminder.objects.filter(urge_id=urge_id).exists()
