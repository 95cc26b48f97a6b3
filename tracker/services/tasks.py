"""The task workflow: each transition locks the row, checks the one table, saves, records its event.

Every transition stamps `Task.last_activity_at` with its `now` (the time its event carries).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..errors import EvidenceRequired, InvalidTransition, ValidationFailed
from ..events import event_record
from ..models import Task, TaskStatus
from ..scoring import late_penalty, score_compute
from ..transitions import TRANSITIONS, allowed_actions


def _lock(task: Task | int) -> Task:
    pk = task if isinstance(task, int) else task.pk
    # Lock the task row only: the joined cycle, criterion and school rows stay free for the sweep.
    return Task.objects.select_for_update(of=("self",)).select_related("criterion", "school", "cycle").get(pk=pk)


def _check(task: Task, action: str) -> None:
    if task.status not in TRANSITIONS[action].sources:
        raise InvalidTransition(
            f"cannot {action} a task that is {task.status}",
            status=task.status,
            allowed=allowed_actions(task.status),
        )


def _lock_for(task: Task | int, action: str) -> Task:
    """Lock the task row and refuse the action unless the table allows it from the current status."""
    locked = _lock(task)
    _check(locked, action)
    return locked


def _record(task: Task, *, type: str, actor, now: datetime, data: dict[str, Any]) -> None:
    event_record(
        type=type,
        subject=task,
        actor=actor,
        cycle=task.cycle,
        school=task.school,
        task=task,
        now=now,
        data=data,
    )


@transaction.atomic
def task_start(*, task: Task | int, actor, now: datetime | None = None) -> Task:
    now = now or timezone.now()
    task = _lock_for(task, "start")
    previous = task.status
    task.status = TaskStatus.IN_PROGRESS
    task.last_activity_at = now
    task.save(update_fields=["status", "last_activity_at", "updated_at"])
    _record(task, type="task.started", actor=actor, now=now, data={"from": previous})
    return task


@transaction.atomic
def task_progress(
    *, task: Task | int, actor, progress: int, note: str | None = None, now: datetime | None = None
) -> Task:
    now = now or timezone.now()
    if not 0 <= progress <= 100:
        raise ValidationFailed("progress must be between 0 and 100", field="progress")
    task = _lock_for(task, "progress")
    previous = task.status
    task.status = TaskStatus.IN_PROGRESS
    task.progress = progress
    task.last_activity_at = now
    fields = ["status", "progress", "last_activity_at", "updated_at"]
    if note is not None:
        task.note = note
        fields.append("note")
    task.save(update_fields=fields)
    _record(
        task,
        type="task.progressed",
        actor=actor,
        now=now,
        data={"from": previous, "progress": progress, "note": note},
    )
    return task


@transaction.atomic
def task_submit(*, task: Task | int, actor, now: datetime | None = None) -> Task:
    now = now or timezone.now()
    task = _lock_for(task, "submit")
    have = task.evidence.count()
    if have < task.criterion.min_evidence:
        raise EvidenceRequired(
            f"this criterion needs at least {task.criterion.min_evidence} evidence file(s); the task has {have}",
            required=task.criterion.min_evidence,
            have=have,
        )
    previous = task.status
    task.status = TaskStatus.SUBMITTED
    task.submitted_at = now
    task.submitted_due_at = task.due_at
    task.last_activity_at = now
    task.save(update_fields=["status", "submitted_at", "submitted_due_at", "last_activity_at", "updated_at"])
    _record(
        task,
        type="task.submitted",
        actor=actor,
        now=now,
        data={"from": previous, "due_at": task.due_at, "on_time": now <= task.due_at},
    )
    return task


@transaction.atomic
def task_approve(
    *, task: Task | int, actor, deductions: list[str], comment: str = "", now: datetime | None = None
) -> Task:
    """Approve and score: max_score - chosen deductions - late penalty, floored at 0."""
    now = now or timezone.now()
    task = _lock(task)
    criterion = task.criterion
    rules = {rule["code"]: Decimal(str(rule["points"])) for rule in criterion.deduction_rules}
    chosen = list(dict.fromkeys(deductions))
    unknown = [code for code in chosen if code not in rules]
    if unknown:
        raise ValidationFailed(
            f"unknown deduction rule(s) for {criterion.code}: {', '.join(unknown)}", field="deductions"
        )
    _check(task, "approve")  # a bad body is a 400 before a wrong state is a 409
    penalty = late_penalty(
        per_day=criterion.late_penalty_per_day,
        cap=criterion.late_penalty_cap,
        submitted_at=task.submitted_at,
        due_at=task.submitted_due_at,
    )
    task.score = score_compute(
        max_score=criterion.max_score, deduction_points=[rules[c] for c in chosen], penalty=penalty
    )
    task.status = TaskStatus.APPROVED
    task.deductions = chosen
    task.late_penalty = penalty
    task.review_comment = comment
    task.reviewed_at = now
    task.reviewed_by = actor
    task.last_activity_at = now
    task.save(
        update_fields=[
            "status",
            "score",
            "deductions",
            "late_penalty",
            "review_comment",
            "reviewed_at",
            "reviewed_by",
            "last_activity_at",
            "updated_at",
        ]
    )
    _record(
        task,
        type="task.approved",
        actor=actor,
        now=now,
        data={"score": task.score, "deductions": chosen, "late_penalty": penalty, "comment": comment},
    )
    return task


@transaction.atomic
def task_return(
    *,
    task: Task | int,
    actor,
    reason: str,
    rework_due_at: datetime | None = None,
    now: datetime | None = None,
) -> Task:
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed("a return needs a reason", field="reason")
    task = _lock_for(task, "return")
    task.status = TaskStatus.RETURNED
    task.return_reason = reason
    task.reviewed_at = now
    task.reviewed_by = actor
    task.last_activity_at = now
    fields = ["status", "return_reason", "reviewed_at", "reviewed_by", "last_activity_at", "updated_at"]
    if rework_due_at is not None:
        task.due_at = rework_due_at
        task.has_own_due = True
        fields += ["due_at", "has_own_due"]
    task.save(update_fields=fields)
    _record(
        task,
        type="task.returned",
        actor=actor,
        now=now,
        data={"reason": reason, "rework_due_at": rework_due_at},
    )
    return task


@transaction.atomic
def task_extend(*, task: Task | int, actor, due_at: datetime, reason: str, now: datetime | None = None) -> Task:
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed("an extension needs a reason", field="reason")
    task = _lock_for(task, "extend")
    previous = task.due_at
    task.due_at = due_at
    task.has_own_due = True
    task.last_activity_at = now
    task.save(update_fields=["due_at", "has_own_due", "last_activity_at", "updated_at"])
    _record(
        task,
        type="task.extended",
        actor=actor,
        now=now,
        data={"from_due_at": previous, "due_at": due_at, "reason": reason},
    )
    return task
