"""Side effects of events, run after commit by the worker (and again by the relay if unfinished).

Every handler is idempotent: running an event twice has the effect of running it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import Event, EventDispatch, Notification, NotificationKind
from .selectors import school_accounts

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
HANDLERS: dict[str, list[Handler]] = {}


def on(*types: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for t in types:
            HANDLERS.setdefault(t, []).append(fn)
        return fn

    return register


def event_handle(*, event_id: int, now: datetime | None = None) -> bool:
    """Run an event's handlers once; returns False when it was already handled (or does not exist)."""
    now = now or timezone.now()
    with transaction.atomic():
        dispatch = (
            EventDispatch.objects.select_for_update(skip_locked=True)
            .select_related("event")
            .filter(pk=event_id, done_at__isnull=True)
            .first()
        )
        if dispatch is None:
            return False
        dispatch.attempts += 1
        for handler in HANDLERS.get(dispatch.event.type, []):
            handler(dispatch.event)
        dispatch.done_at = now
        dispatch.save(update_fields=["attempts", "done_at"])
    return True


def _notify_school(event: Event, kind: str, title: str, body: str) -> None:
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                kind=kind,
                title=title,
                body=body,
                task=event.task,
                school=event.school,
                cycle=event.cycle,
                event=event,
                created_at=event.occurred_at,
            )
            for user in school_accounts(event.school_id)
        ],
        ignore_conflicts=True,
    )


@on("task.returned")
def notify_task_returned(event: Event) -> None:
    criterion = event.task.criterion
    _notify_school(
        event,
        NotificationKind.RETURNED,
        f"{criterion.code} {criterion.title}: returned for rework",
        event.data.get("reason", ""),
    )


@on("task.approved")
def notify_task_approved(event: Event) -> None:
    criterion = event.task.criterion
    _notify_school(
        event,
        NotificationKind.APPROVED,
        f"{criterion.code} {criterion.title}: approved",
        f"score {event.data.get('score')}",
    )
