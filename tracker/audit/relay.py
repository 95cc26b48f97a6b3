"""The event relay: re-dispatch every event whose side effects did not finish (lost message, broker
outage at commit time, crashed worker). Handlers are idempotent, so a second delivery is harmless.

Each re-send pushes the event's next_send_at back (grace x 2^sends, capped), so an event that is
merely waiting behind a long queue is not copied into it again every minute.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .dispatch import event_dispatch
from .models import EventDispatch

MAX_BACKOFF_DOUBLINGS = 6  # 1 min grace -> at most ~64 min between re-sends


def events_relay(*, now: datetime | None = None, limit: int = 5000) -> int:
    now = now or timezone.now()
    due = list(
        EventDispatch.objects.filter(done_at__isnull=True, next_send_at__lte=now)
        .order_by("next_send_at")
        .values_list("event_id", "sends")[:limit]
    )
    by_sends: dict[int, list[int]] = defaultdict(list)
    for event_id, sends in due:
        by_sends[sends].append(event_id)
    # Reschedule before sending: if this relay dies half-way, the next one picks the rest up.
    for sends, event_ids in by_sends.items():
        delay = settings.EVENT_RELAY_GRACE * 2 ** min(sends, MAX_BACKOFF_DOUBLINGS)
        EventDispatch.objects.filter(event_id__in=event_ids, done_at__isnull=True).update(
            next_send_at=now + delay, sends=sends + 1
        )
    for event_id, _ in due:
        event_dispatch(event_id=event_id)
    return len(due)
