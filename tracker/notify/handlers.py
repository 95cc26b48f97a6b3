"""The notify context's event handlers: a school hears that its task was returned or approved, in the
app and through its webhooks. Registered at app ready (tracker.apps)."""

from __future__ import annotations

from tracker.audit.models import Event
from tracker.audit.registry import handles
from tracker.audit.types import EventType

from .deliveries import event_deliveries_create
from .models import NotificationKind
from .services import event_school_notify

REVIEW_KINDS = {EventType.TASK_RETURNED: NotificationKind.RETURNED, EventType.TASK_APPROVED: NotificationKind.APPROVED}


@handles(EventType.TASK_RETURNED)
def notify_task_returned(event: Event) -> None:
    criterion = event.task.criterion
    event_school_notify(
        event=event,
        kind=NotificationKind.RETURNED,
        title=f"{criterion.code} {criterion.title}: returned for rework",
        body=event.data.get("reason", ""),
    )


@handles(EventType.TASK_APPROVED)
def notify_task_approved(event: Event) -> None:
    criterion = event.task.criterion
    event_school_notify(
        event=event,
        kind=NotificationKind.APPROVED,
        title=f"{criterion.code} {criterion.title}: approved",
        body=f"score {event.data.get('score')}",
    )


@handles(*REVIEW_KINDS)
def deliver_task_webhooks(event: Event) -> None:
    criterion = event.task.criterion
    kind = REVIEW_KINDS[EventType(event.type)]
    event_deliveries_create(event=event, kind=kind, title=f"{criterion.code} {criterion.title}: {kind}")
