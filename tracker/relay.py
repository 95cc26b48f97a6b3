"""The event relay: re-dispatch every event whose side effects did not finish (lost message, broker
outage at commit time, crashed worker). Handlers are idempotent, so a second delivery is harmless."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .events import event_dispatch
from .models import EventDispatch


def events_relay(*, now: datetime | None = None, limit: int = 5000) -> int:
    now = now or timezone.now()
    pending = (
        EventDispatch.objects.filter(done_at__isnull=True, created_at__lte=now - settings.EVENT_RELAY_GRACE)
        .order_by("created_at")
        .values_list("event_id", flat=True)[:limit]
    )
    count = 0
    for event_id in pending:
        event_dispatch(event_id=event_id)
        count += 1
    return count
