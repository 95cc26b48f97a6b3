"""Appeals against deductions and late penalties, the second-reviewer rule, rescoring and the deduction
ledger (CONTRACT section 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tests.factories import EvidenceFactory, MembershipFactory, UnitFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.assessment.appeal_services import appeal_create, appeal_decide
from tracker.assessment.cycle_services import criterion_update
from tracker.assessment.ledger import ledger_state
from tracker.audit.dispatch import event_handle
from tracker.audit.selectors import task_history
from tracker.errors import AppealWindowClosed, InvalidTransition, RequestPending, SameReviewer, ValidationFailed

pytestmark = pytest.mark.django_db

D = Decimal
DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # the district criterion: max 10, D1 2, D2 3.5, 1/day capped at 5
DAY = timedelta(days=1)
TINY = timedelta(microseconds=1)
APPROVED_AT = DUE + 4 * DAY
WINDOW_END = APPROVED_AT + 7 * DAY


@pytest.fixture
def approved(district, task_a) -> m.Task:
    """Submitted 3 started days late (penalty 3), approved with D1 and D2: 10 - 2 - 3.5 - 3 = 1.5."""
    EvidenceFactory(task=task_a)
    task_services.task_submit(task=task_a, actor=district.school_a_user, now=DUE + 2 * DAY + timedelta(hours=1))
    return task_services.task_approve(
        task=task_a, actor=district.supervisor, deductions=["D1", "D2"], comment="minutes missing", now=APPROVED_AT
    )


@pytest.fixture
def second_supervisor(district):
    return MembershipFactory(unit=district.bureau, role=m.Role.SUPERVISOR).user


def appeal(district, task, contested=("D2", "late_penalty"), *, at=APPROVED_AT + DAY, reason="the flood"):
    return appeal_create(task=task, actor=district.school_a_user, reason=reason, contested=list(contested), now=at)


def ledger(task) -> list[tuple]:
    return list(
        m.DeductionEntry.objects.filter(task=task)
        .order_by("id")
        .values_list("code", "points", "action", "source", "actor", "reason")
    )


# --- The ledger at approval ---------------------------------------------------------------------------------
def test_approval_writes_one_ledger_entry_per_rule_and_the_late_penalty(district, approved):
    assert approved.score == D("1.5")
    sup = district.supervisor.pk
    assert ledger(approved) == [
        ("D1", D("2"), "applied", "approval", sup, "minutes missing"),
        ("D2", D("3.5"), "applied", "approval", sup, "minutes missing"),
        ("late_penalty", D("3"), "applied", "approval", sup, "minutes missing"),
    ]
    assert set(m.DeductionEntry.objects.filter(task=approved).values_list("at", flat=True)) == {APPROVED_AT}
    assert m.DeductionEntry.objects.get(task=approved, code="D1").description == "incomplete"


def test_an_on_time_approval_without_deductions_has_an_empty_ledger(district, task_b):
    EvidenceFactory(task=task_b)
    task_services.task_submit(task=task_b, actor=district.school_b_user, now=DUE - DAY)
    task_services.task_approve(task=task_b, actor=district.supervisor, deductions=[], now=DUE)
    assert ledger(task_b) == []


# --- Filing ---------------------------------------------------------------------------------------------------
def test_a_school_appeals_within_the_window_up_to_its_last_moment(district, approved):
    filed = appeal(district, approved, at=WINDOW_END)
    assert (filed.status, filed.contested, filed.score_before, filed.score_after) == (
        "pending",
        ["D2", "late_penalty"],
        D("1.5"),
        None,
    )
    assert [e.type for e in task_history(approved)][-1] == "appeal.filed"


def test_no_appeal_after_the_window(district, approved, settings):
    with pytest.raises(AppealWindowClosed) as caught:
        appeal(district, approved, at=WINDOW_END + TINY)
    assert caught.value.code == "appeal_window_closed"
    # the window is a setting
    settings.TRACKER = {**settings.TRACKER, "APPEAL_WINDOW_DAYS": 30}
    assert appeal(district, approved, at=WINDOW_END + TINY).status == "pending"


@pytest.mark.parametrize(
    ("contested", "reason", "field"),
    [
        (["D2"], "   ", "reason"),
        ([], "r", "contested"),
        (["D9"], "r", "contested"),  # no such rule
    ],
)
def test_an_appeal_needs_a_reason_and_rules_of_the_criterion(district, approved, contested, reason, field):
    with pytest.raises(ValidationFailed) as caught:
        appeal(district, approved, contested, reason=reason)
    assert caught.value.extra == {"field": field}
    assert not m.Appeal.objects.exists()


def test_only_what_was_applied_can_be_contested(district, task_a):
    EvidenceFactory(task=task_a)
    task_services.task_submit(task=task_a, actor=district.school_a_user, now=DUE - DAY)  # on time: no penalty
    task_services.task_approve(task=task_a, actor=district.supervisor, deductions=["D1"], now=APPROVED_AT)
    for contested in (["D2"], ["late_penalty"]):
        with pytest.raises(ValidationFailed) as caught:
            appeal(district, task_a, contested)
        assert contested[0] in caught.value.detail
    assert appeal(district, task_a, ["D1"]).status == "pending"


@pytest.mark.parametrize("status", ["not_started", "in_progress", "submitted", "returned"])
def test_only_an_approved_task_can_be_appealed(district, task_a, status):
    m.Task.objects.filter(pk=task_a.pk).update(status=status)
    with pytest.raises(InvalidTransition) as caught:
        appeal(district, task_a, ["D1"])
    assert caught.value.extra["status"] == status


def test_one_pending_appeal_per_task(district, approved, second_supervisor):
    first = appeal(district, approved)
    with pytest.raises(RequestPending):
        appeal(district, approved, ["D1"])
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Appeal.objects.create(task=approved, reason="r", contested=["D1"], created_at=APPROVED_AT)

    appeal_decide(appeal=first, actor=second_supervisor, decision="uphold", comment="stands", now=APPROVED_AT + DAY)
    assert appeal(district, approved, ["D1"]).status == "pending"


# --- The second reviewer ------------------------------------------------------------------------------------
def test_the_approver_may_not_decide_while_another_supervisor_can(district, approved, second_supervisor):
    filed = appeal(district, approved)
    with pytest.raises(SameReviewer) as caught:
        appeal_decide(appeal=filed, actor=district.supervisor, decision="uphold", comment="mine")
    assert (caught.value.code, caught.value.http_status) == ("same_reviewer", 403)
    filed.refresh_from_db()
    assert filed.status == "pending"

    decided = appeal_decide(appeal=filed, actor=second_supervisor, decision="uphold", comment="stands")
    assert (decided.status, decided.decided_by) == ("upheld", second_supervisor)


def test_a_supervisor_of_a_higher_authority_counts_as_another(district, approved):
    city = UnitFactory(name="City")
    m.Unit.objects.filter(pk=district.bureau.pk).update(parent=city)
    MembershipFactory(unit=city, role=m.Role.SUPERVISOR)
    with pytest.raises(SameReviewer):
        appeal_decide(appeal=appeal(district, approved), actor=district.supervisor, decision="uphold", comment="c")


def test_the_approver_decides_when_no_other_active_supervisor_exists(district, approved):
    inactive = MembershipFactory(unit=district.bureau, role=m.Role.SUPERVISOR).user
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    MembershipFactory(unit=district.other_bureau, role=m.Role.SUPERVISOR)  # another district's: no say here

    decided = appeal_decide(
        appeal=appeal(district, approved), actor=district.supervisor, decision="uphold", comment="alone"
    )
    assert decided.status == "upheld"


# --- Deciding -----------------------------------------------------------------------------------------------
def test_amend_rescores_by_the_contract_rule_and_records_what_changed(district, approved, second_supervisor):
    filed = appeal(district, approved)
    at = APPROVED_AT + 2 * DAY

    decided = appeal_decide(
        appeal=filed,
        actor=second_supervisor,
        decision="amend",
        deductions=["D1"],
        waive_late_penalty=True,
        comment="the flood excuses both",
        now=at,
    )

    approved.refresh_from_db()
    # max 10 - D1 2 - no penalty
    assert (approved.score, approved.deductions, approved.late_penalty) == (D("8"), ["D1"], D("0"))
    assert (decided.status, decided.score_before, decided.score_after) == ("amended", D("1.5"), D("8"))
    sup = second_supervisor.pk
    assert ledger(approved)[3:] == [
        ("D2", D("3.5"), "withdrawn", "appeal", sup, "the flood excuses both"),
        ("late_penalty", D("3"), "withdrawn", "appeal", sup, "the flood excuses both"),
    ]
    assert set(m.DeductionEntry.objects.filter(source="appeal").values_list("appeal", "at")) == {(filed.pk, at)}
    assert ledger_state(approved) == {"D1": D("2")}
    event = task_history(approved).last()
    assert event.type == "appeal.decided"
    assert event.data == {
        "appeal": filed.pk,
        "decision": "amend",
        "score_before": "1.50",
        "score_after": "8.00",
        "deductions": ["D1"],
        "late_penalty": "0",
        "comment": "the flood excuses both",
    }
    # the approval itself stands: the approver, the time, the status
    assert (approved.status, approved.reviewed_by, approved.reviewed_at) == (
        "approved",
        district.supervisor,
        APPROVED_AT,
    )


def test_amend_keeps_what_it_does_not_name_and_records_changed_points(district, approved, second_supervisor):
    # after the approval the bureau re-weighed D1 (2 -> 4 points)
    rules = [
        {"code": "D1", "description": "incomplete", "points": "4"},
        {"code": "D2", "description": "", "points": "1"},
    ]
    criterion_update(actor=district.supervisor, criterion=district.criterion, changes={"deduction_rules": rules})

    appeal_decide(
        appeal=appeal(district, approved, ["D2"]), actor=second_supervisor, decision="amend", comment="recount"
    )

    approved.refresh_from_db()
    # the new deductions are D1 and D2 at today's points, the penalty kept: 10 - 4 - 1 - 3
    assert approved.score == D("2")
    assert [row[:3] for row in ledger(approved)[3:]] == [("D1", D("4"), "changed"), ("D2", D("1"), "changed")]


def test_amend_never_scores_below_zero_nor_adds_unknown_rules(district, approved, second_supervisor):
    filed = appeal(district, approved)
    with pytest.raises(ValidationFailed) as caught:
        appeal_decide(appeal=filed, actor=second_supervisor, decision="amend", deductions=["D7"], comment="c")
    assert caught.value.extra == {"field": "deductions"}
    m.Criterion.objects.filter(pk=district.criterion.pk).update(max_score=D("4"))
    appeal_decide(appeal=filed, actor=second_supervisor, decision="amend", deductions=["D1", "D2"], comment="c")
    approved.refresh_from_db()
    assert approved.score == D("0")


def test_uphold_leaves_the_score_and_the_ledger(district, approved, second_supervisor):
    filed = appeal(district, approved)
    entries = ledger(approved)
    with pytest.raises(ValidationFailed):
        appeal_decide(appeal=filed, actor=second_supervisor, decision="uphold", deductions=[], comment="c")

    decided = appeal_decide(appeal=filed, actor=second_supervisor, decision="uphold", comment="rules are rules")

    approved.refresh_from_db()
    assert (decided.status, decided.score_before, decided.score_after, approved.score) == (
        "upheld",
        D("1.5"),
        D("1.5"),
        D("1.5"),
    )
    assert ledger(approved) == entries


def test_deciding_twice_is_an_invalid_transition(district, approved, second_supervisor):
    filed = appeal(district, approved)
    appeal_decide(appeal=filed, actor=second_supervisor, decision="uphold", comment="c")
    with pytest.raises(InvalidTransition) as caught:
        appeal_decide(appeal=filed, actor=second_supervisor, decision="amend", deductions=[], comment="c")
    assert caught.value.extra == {"status": "upheld", "allowed": []}
    approved.refresh_from_db()
    assert approved.score == D("1.5")


def test_the_school_hears_the_decision_once(district, approved, second_supervisor):
    appeal_decide(
        appeal=appeal(district, approved), actor=second_supervisor, decision="amend", deductions=[], comment="ok"
    )
    event = m.Event.objects.get(type="appeal.decided")
    event_handle(event_id=event.pk)
    m.EventDispatch.objects.filter(event=event).update(done_at=None)
    event_handle(event_id=event.pk)

    told = m.Notification.objects.get(kind="appeal_decided")
    assert told.recipient == district.school_a_user
    assert told.task_id == approved.pk
    assert "1.50" in told.title and "7.00" in told.title  # 10 - 3 (the penalty stays)
    assert "已改分" in told.title  # the school account's language: the site's (zh-hans)
