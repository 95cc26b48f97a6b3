from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from tracker.handlers import event_handle
from tracker.relay import events_relay


@shared_task(
    name="tracker.handle_event",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def handle_event(event_id: int) -> bool:
    return event_handle(event_id=event_id)


@shared_task(name="tracker.relay_events")
def relay_events() -> int:
    return events_relay()
