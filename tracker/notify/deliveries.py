"""Webhook deliveries: one per (message, webhook), recorded in the caller's transaction, handed to
the worker after commit, attempted with backoff, re-sent by the sweep when a message was lost."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tracker.audit.models import Event
from tracker.enqueue import enqueue

from .models import DeliveryStatus, Webhook, WebhookDelivery
from .webhook_http import payload_bytes, post

# The Celery task (tasks/webhooks.py) that runs delivery_attempt; sent by name.
DELIVER_TASK = "tracker.deliver_webhook"

# A claimed attempt holds its delivery for this long past the HTTP timeout; a crashed worker's
# claim then lapses and the delivery is tried again.
CLAIM_SLACK = timedelta(seconds=60)


# --- Deliveries: one per (message, webhook), sent after commit ------------------------------------
def deliveries_create(targets: Iterable[tuple[int, str, dict[str, Any]]], *, now: datetime) -> list[int]:
    """Record deliveries (webhook id, message id, payload); message ids are unique, so once only."""
    rows = [
        WebhookDelivery(webhook_id=webhook_id, message_id=message_id, payload=payload, created_at=now)
        for webhook_id, message_id, payload in targets
    ]
    if not rows:
        return []
    existing = set(
        WebhookDelivery.objects.filter(message_id__in=[r.message_id for r in rows]).values_list("message_id", flat=True)
    )
    rows = [r for r in rows if r.message_id not in existing]
    WebhookDelivery.objects.bulk_create(rows, batch_size=1000)
    return [r.pk for r in rows]


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """After commit, hand each delivery to the worker. A broker outage loses nothing: the sweep re-sends."""
    if not delivery_ids:
        return
    ids = list(delivery_ids)

    def send() -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            for delivery_id in ids:
                delivery_attempt(delivery_id=delivery_id)
            return
        for delivery_id in ids:
            if not enqueue(DELIVER_TASK, delivery_id):
                return  # the broker is down: the sweep re-sends the pending ones

    transaction.on_commit(send)


def backoff_seconds(attempts: int) -> float:
    """Exponential from the base, capped, with full jitter (half to all of the step)."""
    step = min(settings.WEBHOOK_RETRY_MAX_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return step * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class AttemptResult:
    status: str
    retry_in: float | None = None  # seconds until the next attempt; None: no further attempt


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> AttemptResult | None:
    """Try one delivery once. None when it is not due (delivered, failed, or being tried elsewhere).

    The attempt is claimed first (next_attempt_at moved past the HTTP timeout in one UPDATE), so two
    workers never post the same delivery at once; the POST itself runs outside any transaction.
    """
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + CLAIM_SLACK
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=lease)
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    webhook = delivery.webhook
    attempts = delivery.attempts + 1
    if not webhook.active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.FAILED, attempts=attempts, last_error="the webhook is disabled", next_attempt_at=None
        )
        return AttemptResult(DeliveryStatus.FAILED)
    answer = post(
        url=webhook.url,
        secret=webhook.secret,
        message_id=delivery.message_id,
        timestamp=int(timezone.now().timestamp()),
        body=payload_bytes(delivery.payload),
    )
    done_at = timezone.now()
    fields: dict[str, Any] = {"attempts": attempts, "last_status_code": answer.status, "last_error": answer.error}
    if answer.ok:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=done_at, next_attempt_at=None)
        result = AttemptResult(DeliveryStatus.DELIVERED)
    elif attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        result = AttemptResult(DeliveryStatus.FAILED)
    else:
        delay = backoff_seconds(attempts)
        fields.update(next_attempt_at=done_at + timedelta(seconds=delay))
        result = AttemptResult(DeliveryStatus.PENDING, retry_in=delay)
    WebhookDelivery.objects.filter(pk=delivery_id).update(**fields)
    return result


def deliveries_resend(*, now: datetime, limit: int = 1000) -> int:
    """Enqueue pending deliveries whose next attempt is overdue by the relay's grace (a lost message)."""
    stale = now - settings.EVENT_RELAY_GRACE
    ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True, created_at__lte=stale) | Q(next_attempt_at__lte=stale))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    with transaction.atomic():
        deliveries_enqueue(ids)
    return len(ids)


def event_deliveries_create(*, event: Event, kind: str, title: str, body: str = "") -> list[int]:
    """Deliveries of an event's news to the webhooks of its school (returned, approved, urge)."""
    if event.school_id is None:
        return []
    webhooks = Webhook.objects.filter(unit_id=event.school_id, active=True).values_list("id", flat=True)
    payload = {
        "type": f"notification.{kind}",
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "kind": kind,
            "title": title,
            "body": body,
            "school": event.school_id,
            "cycle": event.cycle_id,
            "task": event.task_id,
            "event": event.pk,
        },
    }
    ids = deliveries_create(
        [(webhook_id, f"msg_e{event.pk}w{webhook_id}", payload) for webhook_id in webhooks], now=event.occurred_at
    )
    deliveries_enqueue(ids)
    return ids
