"""Side effects of events: handed to the worker after commit, run there once by `event_handle`.

Every handler is idempotent (running an event twice has the effect of running it once), so the relay
may re-send whatever did not finish.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tracker.enqueue import enqueue

from .models import EventDispatch
from .registry import handlers_for

# The Celery task (tasks/events.py) that runs event_handle; sent by name, the domain imports no task.
HANDLE_EVENT_TASK = "tracker.handle_event"


def event_dispatch(*, event_id: int) -> None:
    """Hand an event to the worker. A broker outage loses nothing: the relay re-sends pending events."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        event_handle(event_id=event_id)
        return
    enqueue(HANDLE_EVENT_TASK, event_id)  # if the broker is down, the relay re-sends it


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
        for handler in handlers_for(dispatch.event.type):
            handler(dispatch.event)
        dispatch.done_at = now
        dispatch.save(update_fields=["attempts", "done_at"])
    return True
