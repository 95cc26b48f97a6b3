"""What the bureau and the discipline group hear of (issue 13, item 12): a school's answer to an urge
reaches the supervisors and inspectors of its authority; inspectors get in-app alerts of what they
oversee (a school critically behind, an urge left unanswered past its answer date). Each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker import models as m
from tracker.audit.dispatch import event_handle
from tracker.monitoring.services import urge_create, urge_respond
from tracker.monitoring.sweep import sweep_run

pytestmark = pytest.mark.django_db

URGED_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def handle_all_events() -> None:
    for dispatch in m.EventDispatch.objects.filter(done_at__isnull=True).order_by("event_id"):
        event_handle(event_id=dispatch.event_id)


def recipients(kind: str) -> list[int]:
    return sorted(m.Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


@pytest.fixture
def urge(district) -> m.Urge:
    return urge_create(
        actor=district.supervisor,
        cycle=district.cycle,
        school=district.school_a,
        message="Please upload the register.",
        respond_by=URGED_AT + timedelta(days=3),
        now=URGED_AT,
    )


def test_the_bureau_hears_when_a_school_answers_an_urge(district, urge):
    district.inspector.memberships.update(language="en")
    urge_respond(actor=district.school_a_user, urge=urge, response="Uploaded today.", now=URGED_AT + timedelta(days=1))
    handle_all_events()

    assert recipients("urge_answered") == sorted([district.supervisor.pk, district.inspector.pk])
    note = m.Notification.objects.get(kind="urge_answered", recipient=district.inspector)
    assert note.title.startswith("School A answered the urge of")
    assert note.body == "Uploaded today."
    # Handled again (the relay): still once each.
    event = m.Event.objects.get(type="urge.responded")
    m.EventDispatch.objects.filter(event=event).update(done_at=None)
    event_handle(event_id=event.pk)
    assert len(recipients("urge_answered")) == 2


def test_inspectors_hear_when_a_school_turns_critically_behind(district):
    # District's task due 2026-06-30 16:00Z; 10 days later School A and B are critically behind.
    sweep_run(now=datetime(2026, 7, 10, 17, 0, tzinfo=UTC))

    mine = m.Notification.objects.filter(kind="flag_critical", recipient=district.inspector)
    assert sorted(mine.values_list("school_id", flat=True)) == sorted([district.school_a.pk, district.school_b.pk])
    ours = m.Notification.objects.filter(kind="flag_critical", school__in=[district.school_a, district.school_b])
    assert not ours.filter(recipient=district.other_supervisor).exists()
    sweep_run(now=datetime(2026, 7, 11, 17, 0, tzinfo=UTC))
    assert mine.count() == 2


def test_an_urge_left_unanswered_reaches_the_bureau_and_the_inspectors_once(district, urge):
    late = urge.respond_by + timedelta(hours=1)
    sweep_run(now=urge.respond_by - timedelta(hours=1))
    assert recipients("urge_unanswered") == []

    sweep_run(now=late)
    sweep_run(now=late + timedelta(hours=5))

    assert recipients("urge_unanswered") == sorted([district.supervisor.pk, district.inspector.pk])
    assert recipients("urge_overdue") == [district.school_a_user.pk]  # the school's own reminder, as before
    note = m.Notification.objects.get(kind="urge_unanswered", recipient=district.inspector)
    assert "School A" in note.title
