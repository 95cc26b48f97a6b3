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
from django.utils.translation import gettext_lazy

from tracker.audit.types import Actor, EventType
from tracker.errors import EvidenceRequired, InvalidTransition, ValidationFailed
from tracker.org.selectors import roles_over

from .ledger import ledger_approval_record
from .models import Task
from .scoring import late_penalty, score_compute
from .task_events import task_event_record
from .texts import action_label, actions_said, moment_said, status_label
from .transitions import REQUESTS, TRANSITIONS, TaskAction, TaskRequest, allowed_actions


def task_lock(task: Task | int) -> Task:
    """The task row, locked for the caller's transaction (with its criterion, school and cycle read)."""
    pk = task if isinstance(task, int) else task.pk
    # Lock the task row only: the joined cycle, criterion and school rows stay free for the sweep.
    return Task.objects.select_for_update(of=("self",)).select_related("criterion", "school", "cycle").get(pk=pk)


def _allowed_for(task: Task, actor: Actor) -> list[str]:
    """What this caller may do to the task now: a school is not told of supervisors' actions."""
    roles = None if actor is None else roles_over(actor, task.school_id)
    return allowed_actions(task.status, roles=roles)


def _check(task: Task, action: TaskAction, actor: Actor) -> None:
    if task.status not in TRANSITIONS[action].sources:
        allowed = _allowed_for(task, actor)
        raise InvalidTransition(
            _("The task's status is %(status)s: you cannot %(action)s now (possible now: %(allowed)s).")
            % {"status": status_label(task.status), "action": action_label(action), "allowed": actions_said(allowed)},
            status=task.status,
            allowed=allowed,
        )


_REFUSED_REQUEST = {
    TaskRequest.EXTENSION: gettext_lazy(
        "The task's status is %(status)s: an extension can be requested only while the task is still owed."
    ),
    TaskRequest.APPEAL: gettext_lazy("The task's status is %(status)s: only an approved task can be appealed."),
}


def task_request_check(task: Task, request: TaskRequest, actor: Actor) -> None:
    """Refuse a school's request (an extension, an appeal) unless the task's status allows it."""
    if task.status not in REQUESTS[request].sources:
        raise InvalidTransition(
            str(_REFUSED_REQUEST[request]) % {"status": status_label(task.status)},
            status=task.status,
            allowed=_allowed_for(task, actor),
        )


def task_scored_check(task: Task, actor: Actor) -> None:
    """Refuse an appeal of a task without a score: a rectification has no criterion, hence no deductions."""
    if task.criterion_id is None:
        raise InvalidTransition(
            _("A rectification carries no score: there is nothing to appeal."),
            status=task.status,
            allowed=_allowed_for(task, actor),
        )


def _lock_for(task: Task | int, action: TaskAction, actor: Actor) -> Task:
    """Lock the task row and refuse the action unless the table allows it from the current status."""
    locked = task_lock(task)
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
    if have < task.min_evidence:
        raise EvidenceRequired(
            _("Upload at least %(required)s evidence file(s) before submitting; this task has %(have)s.")
            % {"required": task.min_evidence, "have": have},
            required=task.min_evidence,
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
    """Approve and score: max_score - chosen deductions - late penalty, floored at 0. A rectification
    (no criterion) carries no score, no deduction rules and no late penalty: approving closes it."""
    now = now or timezone.now()
    task = task_lock(task)
    criterion = task.criterion
    rules = {rule["code"]: Decimal(str(rule["points"])) for rule in criterion.deduction_rules} if criterion else {}
    chosen = list(dict.fromkeys(deductions))
    unknown = [code for code in chosen if code not in rules]
    if unknown:
        raise ValidationFailed(
            _("Unknown deduction rule(s) for %(criterion)s: %(codes)s.")
            % {"criterion": task.label, "codes": ", ".join(unknown)},
            field="deductions",
        )
    _check(task, TaskAction.APPROVE, actor)  # a bad body is a 400 before a wrong state is a 409
    fields = _move(task, TaskAction.APPROVE, now)
    penalty = None
    task.score = None
    if criterion is not None:
        penalty = late_penalty(
            per_day=criterion.late_penalty_per_day,
            cap=criterion.late_penalty_cap,
            submitted_at=task.submitted_at,
            due_at=task.submitted_due_at,
        )
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
    if criterion is not None:  # a rectification has no deductions to account for
        ledger_approval_record(task=task, actor=actor, now=now, comment=comment)
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
        task.due_set_at = now
        fields += ["due_at", "has_own_due", "due_set_at"]
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
def task_extend(
    *,
    task: Task | int,
    actor: Actor,
    due_at: datetime,
    reason: str,
    now: datetime | None = None,
    extension_request: int | None = None,
) -> Task:
    """Give the task a later due time of its own (never an earlier one: CONTRACT section 7).

    `extension_request`: the school's request this extension grants, named in the event.
    """
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed(_("An extension needs a reason."), field="reason")
    task = task_lock(task)
    if due_at < task.due_at:
        raise ValidationFailed(
            _("An extension cannot move the deadline earlier than the current one (%(due_at)s).")
            % {"due_at": moment_said(task.due_at)},
            field="due_at",
        )
    _check(task, TaskAction.EXTEND, actor)  # a bad body is a 400 before a wrong state is a 409
    previous = task.due_at
    fields = _move(task, TaskAction.EXTEND, now)
    task.due_at = due_at
    task.has_own_due = True
    task.due_set_at = now
    task.extensions += 1
    task.save(update_fields=[*fields, "due_at", "has_own_due", "due_set_at", "extensions"])
    data = {"from_due_at": previous, "due_at": due_at, "reason": reason}
    if extension_request is not None:
        data["extension_request"] = extension_request
    task_event_record(task, type=EventType.TASK_EXTENDED, actor=actor, now=now, data=data)
    return task
