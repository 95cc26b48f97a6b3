from __future__ import annotations

from tracker.audit.dispatch import HANDLE_EVENT_TASK, event_handle
from tracker.audit.relay import events_relay

from .policy import job


@job(name=HANDLE_EVENT_TASK, max_retries=10)
def handle_event(event_id: int) -> bool:
    return event_handle(event_id=event_id)


@job(name="tracker.relay_events")
def relay_events() -> int:
    return events_relay()
