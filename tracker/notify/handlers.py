"""The notify context's event handlers: a school hears that its task was returned or approved, in the
app (each account in its own language) and through its webhooks. Registered at app ready (tracker.apps)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tracker.audit.models import Event
from tracker.audit.registry import handles
from tracker.audit.types import EventType

from .models import NotificationKind
from .services import event_school_notify_rendered


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
