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
        # Wait for a run of the same event in progress elsewhere (a redelivered message, the relay):
        # if it commits, the event is done and this run does nothing; if its worker died, its
        # transaction rolls back and this run does the work. Skipping the locked row instead would
        # take "in progress" for "done" and leave a killed run's work to the relay, minutes later.
        dispatch = (
            EventDispatch.objects.select_for_update(of=("self",))
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


# --- Falling behind, urges and webhooks ----------------------------------------------------------
def _judged_at(event: Event) -> datetime:
    # As of the event, or of now if it is handled late (relay): a late judgement must not be stale.
    return max(event.occurred_at, timezone.now())


@on("task.started", "task.progressed", "task.submitted", "task.approved", "task.returned", "task.extended")
def rejudge_school(event: Event) -> None:
    from .flags import flags_rejudge

    flags_rejudge(now=_judged_at(event), cycle_id=event.cycle_id, school_ids=[event.school_id])


@on("criterion.created", "criterion.updated", "cycle.activated", "cycle.updated")
def rejudge_cycle(event: Event) -> None:
    from .flags import flags_rejudge

    changed = event.data.get("changed", {})
    if event.type == "criterion.updated" and "due_at" not in changed:
        return
    if event.type == "cycle.updated" and not {
        "warning_overdue_tasks",
        "critical_overdue_tasks",
        "critical_days_overdue",
    } & set(changed):
        return
    flags_rejudge(now=_judged_at(event), cycle_id=event.cycle_id)


@on("urge.created")
def notify_urge(event: Event) -> None:
    from .notifications import urge_notify

    urge_notify(event)


@on("task.returned", "task.approved")
def deliver_task_webhooks(event: Event) -> None:
    from .services.webhooks import event_deliveries_create

    criterion = event.task.criterion
    kind = NotificationKind.RETURNED if event.type == "task.returned" else NotificationKind.APPROVED
    event_deliveries_create(event=event, kind=kind, title=f"{criterion.code} {criterion.title}: {kind}")
