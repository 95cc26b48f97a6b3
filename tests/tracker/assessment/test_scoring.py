"""Scoring on approval (CONTRACT section 2, Score): deductions, late penalty per started day, cap, floor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import EvidenceFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.assessment.scoring import days_late, late_penalty, score_compute
from tracker.errors import ValidationFailed

D = Decimal
DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # the CriterionFactory's due_at
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


# --- the pure rules ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("submitted_at", "expected"),
    [
        (DUE - DAY, 0),
        (DUE, 0),  # at the due time is on time
        (DUE + SECOND, 1),  # a started day counts whole
        (DUE + DAY, 1),
        (DUE + DAY + SECOND, 2),
        (DUE + 3 * DAY - SECOND, 3),
        (DUE + 10 * DAY, 10),
    ],
)
def test_days_late_counts_every_started_day_after_the_due_time(submitted_at, expected):
    assert days_late(submitted_at=submitted_at, due_at=DUE) == expected


@pytest.mark.parametrize(
    ("per_day", "cap", "late", "expected"),
    [
        (D("1"), D("5"), DUE, D("0")),
        (D("1"), D("5"), DUE + SECOND, D("1")),
        (D("1"), D("5"), DUE + 4 * DAY + SECOND, D("5")),  # 5 days x 1 reaches the cap exactly
        (D("1"), D("5"), DUE + 30 * DAY, D("5")),  # capped
        (D("0.5"), D("5"), DUE + 3 * DAY, D("1.5")),
        (D("2"), D("3"), DUE + 2 * DAY, D("3")),  # 4 capped at 3
        (D("0"), D("5"), DUE + 9 * DAY, D("0")),  # no penalty configured
        (D("1"), D("0"), DUE + 9 * DAY, D("0")),  # a zero cap means no penalty
    ],
)
def test_late_penalty_is_per_day_times_started_days_capped(per_day, cap, late, expected):
    assert late_penalty(per_day=per_day, cap=cap, submitted_at=late, due_at=DUE) == expected


@pytest.mark.parametrize(
    ("max_score", "deductions", "penalty", "expected"),
    [
        (D("10"), [], D("0"), D("10")),
        (D("10"), [D("2")], D("0"), D("8")),
        (D("10"), [D("2"), D("3.5")], D("0"), D("4.5")),
        (D("10"), [D("2")], D("3"), D("5")),
        (D("10"), [D("6"), D("3.5")], D("5"), D("0")),  # floored at 0, never negative
        (D("0"), [], D("0"), D("0")),
        (D("12.75"), [D("0.25")], D("0.5"), D("12.00")),
    ],
)
def test_score_is_max_minus_deductions_minus_penalty_floored_at_zero(max_score, deductions, penalty, expected):
    assert score_compute(max_score=max_score, deduction_points=deductions, penalty=penalty) == expected


# --- approval through the service -------------------------------------------------------------
RULES = [
    {"code": "D1", "description": "incomplete", "points": "2"},
    {"code": "D2", "description": "no minutes", "points": "3.5"},
    {"code": "D3", "description": "not published", "points": "6"},
]


def _submit(district, task: m.Task, *, at: datetime) -> m.Task:
    EvidenceFactory(task=task)
    return task_services.task_submit(task=task, actor=district.school_a_user, now=at)


def _approve(district, task: m.Task, deductions: list[str]) -> m.Task:
    return task_services.task_approve(task=task, actor=district.supervisor, deductions=deductions, now=DUE + 40 * DAY)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("submitted_at", "deductions", "score", "penalty"),
    [
        (DUE - DAY, [], D("10"), D("0")),
        (DUE, ["D1"], D("8"), D("0")),
        (DUE - DAY, ["D1", "D2"], D("4.5"), D("0")),
        (DUE - DAY, ["D1", "D1"], D("8"), D("0")),  # a rule chosen twice counts once
        (DUE + SECOND, [], D("9"), D("1")),
        (DUE + 2 * DAY + SECOND, ["D1"], D("5"), D("3")),
        (DUE + 20 * DAY, [], D("5"), D("5")),  # penalty capped at 5
        (DUE + 20 * DAY, ["D3"], D("0"), D("5")),  # 10 - 6 - 5 floored at 0
        (DUE - DAY, ["D1", "D2", "D3"], D("0"), D("0")),  # deductions alone beyond max_score
    ],
)
def test_approval_scores_deductions_and_late_penalty(district, task_a, submitted_at, deductions, score, penalty):
    # given
    m.Criterion.objects.filter(pk=district.criterion.pk).update(deduction_rules=RULES)
    _submit(district, task_a, at=submitted_at)
    # when
    task = _approve(district, task_a, deductions)
    # then
    task.refresh_from_db()
    assert task.status == m.TaskStatus.APPROVED
    assert task.score == score
    assert task.late_penalty == penalty
    assert task.deductions == list(dict.fromkeys(deductions))
    event = m.Event.objects.get(task=task, type="task.approved")
    assert D(event.data["score"]) == score
    assert D(event.data["late_penalty"]) == penalty


@pytest.mark.django_db
def test_approval_with_a_deduction_code_not_in_the_criterion_is_refused_and_changes_nothing(district, task_a):
    _submit(district, task_a, at=DUE - DAY)
    with pytest.raises(ValidationFailed) as caught:
        _approve(district, task_a, ["D1", "ZZ"])
    assert caught.value.extra == {"field": "deductions"}
    assert "ZZ" in caught.value.detail
    task_a.refresh_from_db()
    assert (task_a.status, task_a.score) == (m.TaskStatus.SUBMITTED, None)


@pytest.mark.django_db
def test_late_penalty_is_judged_against_the_due_at_in_force_when_submitted(district, task_a):
    # given an extension to 5 days after the criterion's due, then a submission 2 days after that
    task_services.task_extend(
        task=task_a, actor=district.supervisor, due_at=DUE + 5 * DAY, reason="flood", now=DUE - DAY
    )
    _submit(district, task_a, at=DUE + 7 * DAY)
    # when
    task = _approve(district, task_a, [])
    # then: 2 days late against the extended due, not 7 against the criterion's
    assert (task.late_penalty, task.score) == (D("2"), D("8"))


@pytest.mark.django_db
def test_extension_after_submission_does_not_change_the_late_penalty(district, task_a):
    # given a submission 3 days late
    _submit(district, task_a, at=DUE + 3 * DAY)
    # when the supervisor extends the submitted task past its submission time, then approves
    task_services.task_extend(
        task=task_a, actor=district.supervisor, due_at=DUE + 10 * DAY, reason="late paperwork", now=DUE + 4 * DAY
    )
    task = _approve(district, task_a, [])
    # then it is still judged against the due in force when it was submitted
    assert task.due_at == DUE + 10 * DAY
    assert (task.late_penalty, task.score) == (D("3"), D("7"))


@pytest.mark.django_db
def test_criterion_due_edit_after_submission_does_not_change_the_late_penalty(district, task_a):
    from tracker.assessment.cycle_services import criterion_update

    _submit(district, task_a, at=DUE + DAY)
    criterion_update(actor=district.supervisor, criterion=district.criterion, changes={"due_at": DUE + 9 * DAY})
    task = _approve(district, task_a, [])
    assert (task.late_penalty, task.score) == (D("1"), D("9"))


@pytest.mark.django_db
def test_resubmission_after_a_return_is_judged_against_the_rework_deadline(district, task_a):
    # given a first submission on time, returned with a rework deadline
    _submit(district, task_a, at=DUE - DAY)
    task_services.task_return(
        task=task_a, actor=district.supervisor, reason="redo", rework_due_at=DUE + 3 * DAY, now=DUE
    )
    # when the school resubmits a day and a bit after the rework deadline
    task = task_services.task_submit(task=task_a, actor=district.school_a_user, now=DUE + 4 * DAY + SECOND)
    task = _approve(district, task, [])
    # then the approved (latest) submission is 2 started days late against the rework deadline
    assert (task.late_penalty, task.score) == (D("2"), D("8"))


@pytest.mark.django_db
def test_resubmission_on_time_after_a_late_first_submission_carries_no_penalty(district, task_a):
    _submit(district, task_a, at=DUE + 2 * DAY)
    task_services.task_return(
        task=task_a, actor=district.supervisor, reason="redo", rework_due_at=DUE + 6 * DAY, now=DUE + 3 * DAY
    )
    task = task_services.task_submit(task=task_a, actor=district.school_a_user, now=DUE + 5 * DAY)
    task = _approve(district, task, [])
    assert (task.late_penalty, task.score) == (D("0"), D("10"))


@pytest.mark.django_db
def test_fractional_points_and_penalties_are_exact_decimals(district, task_a):
    m.Criterion.objects.filter(pk=district.criterion.pk).update(
        max_score=D("7.50"),
        late_penalty_per_day=D("0.25"),
        late_penalty_cap=D("1.00"),
        deduction_rules=[{"code": "D1", "description": "", "points": "0.10"}],
    )
    _submit(district, task_a, at=DUE + 2 * DAY + SECOND)
    task = _approve(district, task_a, ["D1"])
    task.refresh_from_db()
    assert (task.late_penalty, task.score) == (D("0.75"), D("6.65"))


@pytest.mark.django_db
def test_approval_over_http_returns_the_score(district, task_a, client_for):
    _submit(district, task_a, at=DUE + DAY)
    response = client_for(district.supervisor).post(
        f"/api/v1/tasks/{task_a.pk}/approve/", {"deductions": ["D2"], "comment": "ok"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["score"], body["late_penalty"]) == ("approved", "5.50", "1.00")
    assert body["deductions"] == ["D2"]
