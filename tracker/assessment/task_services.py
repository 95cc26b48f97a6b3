"""The task workflow: each transition locks the row, checks the one table, takes its target status
from the table, saves, and records its event.

Every transition stamps `Task.last_activity_at` with its `now` (the time its event carries).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.audit.types import Actor, EventType
from tracker.errors import EvidenceRequired, InvalidTransition, ValidationFailed
from tracker.org.selectors import roles_over

from .models import Task
from .scoring import late_penalty, score_compute
from .task_events import task_event_record
from .texts import action_label, actions_said, status_label
from .transitions import TRANSITIONS, TaskAction, allowed_actions


def _lock(task: Task | int) -> Task:
    pk = task if isinstance(task, int) else task.pk
    # Lock the task row only: the joined cycle, criterion and school rows stay free for the sweep.
    return Task.objects.select_for_update(of=("self",)).select_related("criterion", "school", "cycle").get(pk=pk)


def _check(task: Task, action: TaskAction, actor: Actor) -> None:
    if task.status not in TRANSITIONS[action].sources:
        # `allowed` lists what this caller may do now: a school is not told of supervisors' actions.
        roles = None if actor is None else roles_over(actor, task.school_id)
        allowed = allowed_actions(task.status, roles=roles)
        raise InvalidTransition(
            _("The task's status is %(status)s: you cannot %(action)s now (possible now: %(allowed)s).")
            % {"status": status_label(task.status), "action": action_label(action), "allowed": actions_said(allowed)},
            status=task.status,
            allowed=allowed,
        )


def _lock_for(task: Task | int, action: TaskAction, actor: Actor) -> Task:
    """Lock the task row and refuse the action unless the table allows it from the current status."""
    locked = _lock(task)
    _check(locked, action, actor)
    return locked


def _move(task: Task, action: TaskAction, now: datetime) -> list[str]:
    """Apply the table's target status (if the action has one) and stamp the activity; the fields set."""
    target = TRANSITIONS[action].target
    task.last_activity_at = now
    if target is None:
        return ["last_activity_at", "updated_at"]
    task.status = target
    return ["status", "last_activity_at", "updated_at"]


@transaction.atomic
def task_start(*, task: Task | int, actor: Actor, now: datetime | None = None) -> Task:
    now = now or timezone.now()
    task = _lock_for(task, TaskAction.START, actor)
    previous = task.status
    task.save(update_fields=_move(task, TaskAction.START, now))
    task_event_record(task, type=EventType.TASK_STARTED, actor=actor, now=now, data={"from": previous})
    return task


@transaction.atomic
def task_progress(
    *, task: Task | int, actor: Actor, progress: int, note: str | None = None, now: datetime | None = None
) -> Task:
    now = now or timezone.now()
    if not 0 <= progress <= 100:
        raise ValidationFailed(_("Progress must be between 0 and 100."), field="progress")
    task = _lock_for(task, TaskAction.PROGRESS, actor)
    previous = task.status
    fields = _move(task, TaskAction.PROGRESS, now)
    task.progress = progress
    fields.append("progress")
    if note is not None:
        task.note = note
        fields.append("note")
    task.save(update_fields=fields)
    task_event_record(
        task,
        type=EventType.TASK_PROGRESSED,
        actor=actor,
        now=now,
        data={"from": previous, "progress": progress, "note": note},
    )
    return task


@transaction.atomic
def task_submit(*, task: Task | int, actor: Actor, now: datetime | None = None) -> Task:
    now = now or timezone.now()
    task = _lock_for(task, TaskAction.SUBMIT, actor)
    have = task.evidence.count()
    if have < task.criterion.min_evidence:
        raise EvidenceRequired(
            _("Upload at least %(required)s evidence file(s) before submitting; this task has %(have)s.")
            % {"required": task.criterion.min_evidence, "have": have},
            required=task.criterion.min_evidence,
            have=have,
        )
    previous = task.status
    fields = _move(task, TaskAction.SUBMIT, now)
    task.submitted_at = now
    task.submitted_due_at = task.due_at
    task.save(update_fields=[*fields, "submitted_at", "submitted_due_at"])
    task_event_record(
        task,
        type=EventType.TASK_SUBMITTED,
        actor=actor,
        now=now,
        data={"from": previous, "due_at": task.due_at, "on_time": now <= task.due_at},
    )
    return task


@transaction.atomic
def task_approve(
    *, task: Task | int, actor: Actor, deductions: list[str], comment: str = "", now: datetime | None = None
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
            _("Unknown deduction rule(s) for %(criterion)s: %(codes)s.")
            % {"criterion": criterion.code, "codes": ", ".join(unknown)},
            field="deductions",
        )
    _check(task, TaskAction.APPROVE, actor)  # a bad body is a 400 before a wrong state is a 409
    penalty = late_penalty(
        per_day=criterion.late_penalty_per_day,
        cap=criterion.late_penalty_cap,
        submitted_at=task.submitted_at,
        due_at=task.submitted_due_at,
    )
    fields = _move(task, TaskAction.APPROVE, now)
    task.score = score_compute(
        max_score=criterion.max_score, deduction_points=[rules[c] for c in chosen], penalty=penalty
    )
    task.deductions = chosen
    task.late_penalty = penalty
    task.review_comment = comment
    task.reviewed_at = now
    task.reviewed_by = actor
    task.save(
        update_fields=[*fields, "score", "deductions", "late_penalty", "review_comment", "reviewed_at", "reviewed_by"]
    )
    task_event_record(
        task,
        type=EventType.TASK_APPROVED,
        actor=actor,
        now=now,
        data={"score": task.score, "deductions": chosen, "late_penalty": penalty, "comment": comment},
    )
    return task


@transaction.atomic
def task_return(
    *,
    task: Task | int,
    actor: Actor,
    reason: str,
    rework_due_at: datetime | None = None,
    now: datetime | None = None,
) -> Task:
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed(_("A return needs a reason."), field="reason")
    task = _lock_for(task, TaskAction.RETURN, actor)
    fields = [*_move(task, TaskAction.RETURN, now), "return_reason", "reviewed_at", "reviewed_by"]
    task.return_reason = reason
    task.reviewed_at = now
    task.reviewed_by = actor
    if rework_due_at is not None:
        task.due_at = rework_due_at
        task.has_own_due = True
        fields += ["due_at", "has_own_due"]
    task.save(update_fields=fields)
    task_event_record(
        task,
        type=EventType.TASK_RETURNED,
        actor=actor,
        now=now,
        data={"reason": reason, "rework_due_at": rework_due_at},
    )
    return task


@transaction.atomic
def task_extend(*, task: Task | int, actor: Actor, due_at: datetime, reason: str, now: datetime | None = None) -> Task:
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed(_("An extension needs a reason."), field="reason")
    task = _lock_for(task, TaskAction.EXTEND, actor)
    previous = task.due_at
    fields = _move(task, TaskAction.EXTEND, now)
    task.due_at = due_at
    task.has_own_due = True
    task.save(update_fields=[*fields, "due_at", "has_own_due"])
    task_event_record(
        task,
        type=EventType.TASK_EXTENDED,
        actor=actor,
        now=now,
        data={"from_due_at": previous, "due_at": due_at, "reason": reason},
    )
    return task
