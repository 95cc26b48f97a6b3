"""The notify context's event handlers: a school hears that its task was returned or approved, or how its
extension request or appeal was decided, in the app (each account in its own language) and through its
webhooks; supervisors hear of an extension request. Registered at app ready (tracker.apps)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from tracker.assessment.appeal_services import AppealDecision
from tracker.assessment.extension_services import ExtensionDecision
from tracker.audit.models import Event
from tracker.audit.registry import handles
from tracker.audit.types import EventType

from .models import NotificationKind
from .services import event_authority_notify_rendered, event_school_notify_rendered


def _criterion(event: Event) -> dict[str, Any]:
    """What the task is about: its criterion's code and title, or a rectification's own title."""
    task = event.task
    return {"code": task.code, "criterion": task.heading, "rectification": task.criterion_id is None}


@handles(EventType.TASK_RETURNED)
def notify_task_returned(event: Event) -> None:
    ctx = {**_criterion(event), "reason": event.data.get("reason", "")}
    event_school_notify_rendered(event=event, kind=NotificationKind.RETURNED, ctx=ctx)


@handles(EventType.TASK_APPROVED)
def notify_task_approved(event: Event) -> None:
    about = _criterion(event)
    score = event.data.get("score")
    shown = "" if score is None else f"{Decimal(str(score)).normalize():f}"  # a rectification has none
    ctx = {**about, "score": shown, "comment": event.data.get("comment", "")}
    event_school_notify_rendered(event=event, kind=NotificationKind.APPROVED, ctx=ctx)


def _when(value: object) -> object:
    """A time the event's data holds as ISO text, as a datetime for the texts."""
    return parse_datetime(value) if isinstance(value, str) else value


def _task_ctx(event: Event) -> dict[str, object]:
    """What the texts of a request or decision about a task need: the criterion, school, times, words."""
    ctx: dict[str, object] = {
        **_criterion(event),
        "school": event.task.school.name,
        "due_at": event.task.due_at,
        "reason": event.data.get("reason", ""),
        "comment": event.data.get("comment", ""),
    }
    if event.data.get("requested_due_at"):
        ctx["requested_due_at"] = _when(event.data["requested_due_at"])
    return ctx


@handles(EventType.EXTENSION_REQUESTED)
def notify_extension_requested(event: Event) -> None:
    event_authority_notify_rendered(event=event, kind=NotificationKind.EXTENSION_REQUESTED, ctx=_task_ctx(event))


@handles(EventType.EXTENSION_DECIDED)
def notify_extension_decided(event: Event) -> None:
    approved = event.data.get("decision") == ExtensionDecision.APPROVE
    kind = NotificationKind.EXTENSION_APPROVED if approved else NotificationKind.EXTENSION_REJECTED
    ctx = _task_ctx(event)
    if approved:
        ctx["due_at"] = _when(event.data.get("due_at"))
    event_school_notify_rendered(event=event, kind=kind, ctx=ctx)


@handles(EventType.APPEAL_DECIDED)
def notify_appeal_decided(event: Event) -> None:
    ctx = _task_ctx(event)
    ctx["outcome"] = "upheld" if event.data.get("decision") == AppealDecision.UPHOLD else "amended"
    ctx["score_before"] = event.data.get("score_before")
    ctx["score_after"] = event.data.get("score_after")
    event_school_notify_rendered(event=event, kind=NotificationKind.APPEAL_DECIDED, ctx=ctx)
