"""Extension requests (CONTRACT section 7): a school asks for a later deadline, a supervisor decides.

Approval extends the task through `task_extend`, exactly as a supervisor's own extension does (its
event, reminders re-armed by the new due time, flags re-judged by the event's handler). One pending
request per task, held by a partial unique constraint; a decision is made once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.audit.types import Actor, EventType
from tracker.errors import InvalidTransition, RequestPending, ValidationFailed

from .fairness_models import ExtensionRequest, ExtensionStatus
from .models import Task
from .task_events import task_event_record
from .task_services import task_extend, task_lock, task_request_check
from .texts import moment_said, request_status_label
from .transitions import TaskRequest


class ExtensionDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@transaction.atomic
def extension_request_create(
    *, task: Task | int, actor: Actor, requested_due_at: datetime, reason: str, now: datetime | None = None
) -> ExtensionRequest:
    """Ask for `requested_due_at` (later than the task's current due time), giving a reason."""
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed(_("An extension request needs a reason."), field="reason")
    task = task_lock(task)
    if requested_due_at <= task.due_at:
        raise ValidationFailed(
            _("The requested deadline must be later than the task's current one (%(due_at)s).")
            % {"due_at": moment_said(task.due_at)},
            field="requested_due_at",
        )
    task_request_check(task, TaskRequest.EXTENSION, actor)
    if ExtensionRequest.objects.filter(task=task, status=ExtensionStatus.PENDING).exists():
        raise RequestPending(_("This task already has a pending extension request."))
    try:
        with transaction.atomic():
            request = ExtensionRequest.objects.create(
                task=task,
                requested_due_at=requested_due_at,
                reason=reason,
                late_request=now > task.due_at,
                created_at=now,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError as exc:  # a concurrent request for the same task won
        raise RequestPending(_("This task already has a pending extension request.")) from exc
    task.last_activity_at = now
    task.save(update_fields=["last_activity_at", "updated_at"])
    task_event_record(
        task,
        type=EventType.EXTENSION_REQUESTED,
        actor=actor,
        now=now,
        subject=request,
        data={
            "extension_request": request.pk,
            "requested_due_at": requested_due_at,
            "due_at": task.due_at,
            "late_request": request.late_request,
            "reason": reason,
        },
    )
    return request


@transaction.atomic
def extension_request_decide(
    *,
    request: ExtensionRequest | int,
    actor: Actor,
    decision: str,
    comment: str,
    due_at: datetime | None = None,
    now: datetime | None = None,
) -> ExtensionRequest:
    """Approve (extend the task to `due_at`, else to the requested time) or reject; once."""
    now = now or timezone.now()
    if decision not in ExtensionDecision.__members__.values():
        raise ValidationFailed(_("The decision must be approve or reject."), field="decision")
    if not comment.strip():
        raise ValidationFailed(_("A decision needs a comment."), field="comment")
    if decision == ExtensionDecision.REJECT and due_at is not None:
        raise ValidationFailed(_("A deadline applies only to an approval."), field="due_at")
    pk = request if isinstance(request, int) else request.pk
    # The task first, then the request: the order every writer of either takes.
    task = task_lock(ExtensionRequest.objects.values_list("task_id", flat=True).get(pk=pk))
    request = ExtensionRequest.objects.select_for_update().get(pk=pk)
    if request.status != ExtensionStatus.PENDING:
        raise InvalidTransition(
            _("This request has already been decided: %(status)s.") % {"status": request_status_label(request.status)},
            status=request.status,
            allowed=[],
        )
    if decision == ExtensionDecision.APPROVE:
        target = due_at or request.requested_due_at
        task = task_extend(
            task=task, actor=actor, due_at=target, reason=request.reason, now=now, extension_request=request.pk
        )
        request.status = ExtensionStatus.APPROVED
        request.decision_due_at = target
    else:
        request.status = ExtensionStatus.REJECTED
        task.last_activity_at = now  # what happened to the task last (an approval stamps it through extend)
        task.save(update_fields=["last_activity_at", "updated_at"])
    request.decided_at = now
    request.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    request.comment = comment
    request.save(update_fields=["status", "decision_due_at", "decided_at", "decided_by", "comment"])
    task_event_record(
        task,
        type=EventType.EXTENSION_DECIDED,
        actor=actor,
        now=now,
        subject=request,
        data={
            "extension_request": request.pk,
            "decision": decision,
            "requested_due_at": request.requested_due_at,
            "due_at": request.decision_due_at,
            "comment": comment,
        },
    )
    return request
