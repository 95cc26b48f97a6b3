"""Original and current deadlines, extensions and extension requests (CONTRACT section 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from freezegun import freeze_time

from tests.concurrency import at_once
from tests.factories import EvidenceFactory, MembershipFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.assessment.cycle_services import criterion_update
from tracker.assessment.extension_services import extension_request_create, extension_request_decide
from tracker.audit.dispatch import event_handle
from tracker.errors import InvalidTransition, RequestPending, ValidationFailed
from tracker.monitoring.sweep import sweep_run

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # the district criterion's due_at
H = timedelta(hours=1)
D = timedelta(days=1)


def ask(district, task, *, due_at=DUE + 10 * D, at=DUE - 3 * D, reason="the county flooded"):
    return extension_request_create(
        task=task, actor=district.school_a_user, requested_due_at=due_at, reason=reason, now=at
    )


def decide(district, request, decision="approve", *, at=DUE - 2 * D, actor=None, **kwargs):
    return extension_request_decide(
        request=request, actor=actor or district.supervisor, decision=decision, comment="ok", now=at, **kwargs
    )


def handle(*types: str) -> None:
    """Run the handlers of the events of these types, as the worker does after commit."""
    for event in m.Event.objects.filter(type__in=types).order_by("id"):
        event_handle(event_id=event.pk)


# --- Original and current deadline ------------------------------------------------------------------------
def test_a_task_keeps_its_original_deadline_through_extensions_and_rework(district, task_a):
    assert (task_a.original_due_at, task_a.due_at, task_a.extensions) == (DUE, DUE, 0)
    task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE + 5 * D, reason="a", now=DUE)
    task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE + 9 * D, reason="b", now=DUE + D)
    EvidenceFactory(task=task_a)
    task_services.task_submit(task=task_a, actor=district.school_a_user, now=DUE + 2 * D)
    task_services.task_return(
        task=task_a, actor=district.supervisor, reason="redo", rework_due_at=DUE + 20 * D, now=DUE + 3 * D
    )

    task_a.refresh_from_db()
    assert (task_a.original_due_at, task_a.due_at) == (DUE, DUE + 20 * D)
    assert task_a.extensions == 2  # a rework deadline is not an extension
    assert task_a.due_set_at == DUE + 3 * D


def test_only_a_criterion_edit_moves_the_original_deadline_of_every_task(district, task_a, task_b):
    task_services.task_extend(task=task_b, actor=district.supervisor, due_at=DUE + 30 * D, reason="r", now=DUE)
    edited_at = DUE - 20 * D

    criterion_update(
        actor=district.supervisor, criterion=district.criterion, changes={"due_at": DUE + D}, now=edited_at
    )

    task_a.refresh_from_db()
    task_b.refresh_from_db()
    assert (task_a.original_due_at, task_a.due_at, task_a.due_set_at) == (DUE + D, DUE + D, edited_at)
    # task B keeps its own extended deadline (and when it was set), but its original one moves too
    assert (task_b.original_due_at, task_b.due_at, task_b.due_set_at) == (DUE + D, DUE + 30 * D, DUE)


def test_extend_refuses_an_earlier_due_at_and_changes_nothing(district, task_a):
    before = m.Task.objects.filter(pk=task_a.pk).values().get()

    with pytest.raises(ValidationFailed) as caught:
        task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE - H, reason="oops", now=DUE)

    assert caught.value.extra == {"field": "due_at"}
    assert m.Task.objects.filter(pk=task_a.pk).values().get() == before
    # the same deadline is not earlier: allowed (and counted)
    task = task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE, reason="same", now=DUE)
    assert (task.due_at, task.extensions) == (DUE, 1)


def test_a_bad_due_at_is_a_400_before_a_wrong_state_is_a_409(district, task_a):
    m.Task.objects.filter(pk=task_a.pk).update(status=m.TaskStatus.APPROVED)
    with pytest.raises(ValidationFailed):
        task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE - D, reason="r", now=DUE)
    with pytest.raises(InvalidTransition):
        task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE + D, reason="r", now=DUE)


# --- Extension requests ---------------------------------------------------------------------------------
def test_an_approved_request_extends_the_task_exactly_as_extend_does(district, task_a):
    request = ask(district, task_a)
    assert (request.status, request.late_request, request.created_at) == ("pending", False, DUE - 3 * D)

    decided = decide(district, request)

    task_a.refresh_from_db()
    assert (task_a.due_at, task_a.has_own_due, task_a.extensions) == (DUE + 10 * D, True, 1)
    assert (task_a.original_due_at, task_a.due_set_at) == (DUE, DUE - 2 * D)
    assert (decided.status, decided.decision_due_at, decided.decided_at) == ("approved", DUE + 10 * D, DUE - 2 * D)
    assert decided.decided_by == district.supervisor
    types = list(m.Event.objects.filter(task=task_a).order_by("id").values_list("type", flat=True))
    assert types[-3:] == ["extension.requested", "task.extended", "extension.decided"]
    extended = m.Event.objects.get(task=task_a, type="task.extended")
    assert extended.data["extension_request"] == request.pk
    assert extended.actor == district.supervisor


def test_the_supervisor_may_grant_another_deadline_or_reject(district, task_a, task_b):
    granted = decide(district, ask(district, task_a), due_at=DUE + 5 * D)
    task_a.refresh_from_db()
    assert (granted.decision_due_at, task_a.due_at) == (DUE + 5 * D, DUE + 5 * D)

    request_b = extension_request_create(
        task=task_b, actor=district.school_b_user, requested_due_at=DUE + D, reason="r", now=DUE - D
    )
    rejected = decide(district, request_b, "reject")
    task_b.refresh_from_db()
    assert (rejected.status, rejected.decision_due_at) == ("rejected", None)
    assert (task_b.due_at, task_b.extensions, task_b.has_own_due) == (DUE, 0, False)
    assert not m.Event.objects.filter(task=task_b, type="task.extended").exists()


def test_a_request_after_the_deadline_is_marked_late(district, task_a):
    assert ask(district, task_a, at=DUE + H).late_request is True
    assert ask(district, m.Task.objects.get(school=district.school_b), at=DUE).late_request is False


@pytest.mark.parametrize(
    ("due_at", "reason", "field"),
    [(DUE, "r", "requested_due_at"), (DUE - D, "r", "requested_due_at"), (DUE + D, "  ", "reason")],
)
def test_a_request_needs_a_later_deadline_and_a_reason(district, task_a, due_at, reason, field):
    with pytest.raises(ValidationFailed) as caught:
        ask(district, task_a, due_at=due_at, reason=reason)
    assert caught.value.extra == {"field": field}
    assert not m.ExtensionRequest.objects.exists()


def test_one_pending_request_per_task(district, task_a):
    first = ask(district, task_a)
    with pytest.raises(RequestPending) as caught:
        ask(district, task_a, due_at=DUE + 20 * D)
    assert caught.value.code == "request_pending"

    decide(district, first, "reject")
    again = ask(district, task_a, due_at=DUE + 20 * D)
    assert again.status == "pending"
    # the database holds it too
    with pytest.raises(IntegrityError), transaction.atomic():
        m.ExtensionRequest.objects.create(task=task_a, requested_due_at=DUE, reason="r", created_at=DUE)


def test_deciding_twice_is_an_invalid_transition(district, task_a):
    request = decide(district, ask(district, task_a))
    with pytest.raises(InvalidTransition) as caught:
        decide(district, request, "reject")
    assert caught.value.extra == {"status": "approved", "allowed": []}
    task_a.refresh_from_db()
    assert task_a.extensions == 1


@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_only_a_task_still_owed_can_get_an_extension_request(district, task_a, status):
    m.Task.objects.filter(pk=task_a.pk).update(status=status)
    with pytest.raises(InvalidTransition) as caught:
        ask(district, task_a)
    assert caught.value.extra["status"] == status


def test_an_approval_that_no_longer_fits_changes_nothing(district, task_a):
    request = ask(district, task_a, due_at=DUE + 3 * D)
    # meanwhile the supervisor extended further by hand: the requested deadline is now earlier
    task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE + 9 * D, reason="r", now=DUE - D)

    with pytest.raises(ValidationFailed):
        decide(district, request)

    request.refresh_from_db()
    assert request.status == "pending"
    assert decide(district, request, "reject").status == "rejected"


@pytest.mark.parametrize(
    ("decision", "comment", "due_at", "field"),
    [("maybe", "c", None, "decision"), ("approve", " ", None, "comment"), ("reject", "c", DUE + D, "due_at")],
)
def test_a_bad_decision_is_refused(district, task_a, decision, comment, due_at, field):
    request = ask(district, task_a)
    with pytest.raises(ValidationFailed) as caught:
        extension_request_decide(
            request=request, actor=district.supervisor, decision=decision, comment=comment, due_at=due_at
        )
    assert caught.value.extra == {"field": field}


def test_approval_rearms_reminders_and_rejudges_the_schools_flag(district, task_a):
    sweep_run(now=DUE + 2 * D)
    assert m.Flag.objects.filter(school=district.school_a, resolved_at__isnull=True).exists()
    request = ask(district, task_a, due_at=DUE + 20 * D, at=DUE + 2 * D)

    decide(district, request, at=DUE + 3 * D)
    with freeze_time(DUE + 3 * D):  # the handler judges as of the event, or of now when it runs late
        handle("task.extended")

    assert not m.Flag.objects.filter(school=district.school_a, resolved_at__isnull=True).exists()
    sweep_run(now=DUE + 13 * D + H)
    kinds = set(m.Reminder.objects.filter(task=task_a, due_at=DUE + 20 * D).values_list("kind", "stage"))
    assert ("due_soon", -7) in kinds


def test_requests_and_decisions_notify_the_other_side_in_their_language(district, task_a, settings):
    nearby_supervisor = MembershipFactory(unit=district.bureau, role=m.Role.SUPERVISOR, language="en").user
    request = ask(district, task_a)
    handle("extension.requested")

    asked = m.Notification.objects.filter(kind="extension_requested")
    assert set(asked.values_list("recipient_id", flat=True)) == {district.supervisor.pk, nearby_supervisor.pk}
    english = asked.get(recipient=nearby_supervisor)
    assert english.title.startswith("School A asks to extend") and english.task_id == task_a.pk
    assert english.body == "the county flooded"
    chinese = asked.get(recipient=district.supervisor)
    assert "申请" in chinese.title

    decide(district, request)
    handle("extension.decided")
    handle("extension.decided")  # the relay may handle it again: still once
    told = m.Notification.objects.filter(kind="extension_approved")
    assert list(told.values_list("recipient_id", flat=True)) == [district.school_a_user.pk]
    assert "2026-07-11" in told.get().title  # the new deadline, local time

    request_b = extension_request_create(
        task=m.Task.objects.get(school=district.school_b),
        actor=district.school_b_user,
        requested_due_at=DUE + D,
        reason="r",
        now=DUE - D,
    )
    decide(district, request_b, "reject")
    handle("extension.decided")
    assert list(m.Notification.objects.filter(kind="extension_rejected").values_list("recipient_id", flat=True)) == [
        district.school_b_user.pk
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL (the suite's database)")
def test_two_requests_at_once_leave_one_pending(district):
    task = m.Task.objects.get(school=district.school_a, criterion=district.criterion)

    made, errors = at_once(*(lambda days=days: ask(district, task, due_at=DUE + days * D) for days in (5, 6)))

    assert len(made) == 1
    assert [type(e) for e in errors] == [RequestPending]
    assert m.ExtensionRequest.objects.filter(task=task, status="pending").count() == 1
