"""The notify context's event handlers: a school hears that its task was returned or approved, in the
app (each account in its own language) and through its webhooks. Registered at app ready (tracker.apps)."""

from __future__ import annotations

from decimal import Decimal

from tracker.audit.models import Event
from tracker.audit.registry import handles
from tracker.audit.types import EventType

from .models import NotificationKind
from .services import event_school_notify_rendered


def _criterion(event: Event) -> dict[str, str]:
    criterion = event.task.criterion
    return {"code": criterion.code, "criterion": criterion.title}


@handles(EventType.TASK_RETURNED)
def notify_task_returned(event: Event) -> None:
    ctx = {**_criterion(event), "reason": event.data.get("reason", "")}
    event_school_notify_rendered(event=event, kind=NotificationKind.RETURNED, ctx=ctx)


@handles(EventType.TASK_APPROVED)
def notify_task_approved(event: Event) -> None:
    score = Decimal(str(event.data.get("score", "0"))).normalize()
    ctx = {**_criterion(event), "score": f"{score:f}", "comment": event.data.get("comment", "")}
    event_school_notify_rendered(event=event, kind=NotificationKind.APPROVED, ctx=ctx)
