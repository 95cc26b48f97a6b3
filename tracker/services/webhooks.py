"""Webhooks: create, change and remove them; attempt one delivery; re-send lost ones."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..errors import ValidationFailed
from ..events import event_record
from ..models import DeliveryStatus, Event, Unit, Webhook, WebhookDelivery
from ..webhooks import (
    UnsafeTarget,
    deliveries_create,
    deliveries_enqueue,
    payload_bytes,
    post,
    secret_generate,
    target_check,
)

# A claimed attempt holds its delivery for this long past the HTTP timeout; a crashed worker's
# claim then lapses and the delivery is tried again.
CLAIM_SLACK = timedelta(seconds=60)


def _check_url(url: str) -> str:
    try:
        target_check(url)
    except UnsafeTarget as exc:
        raise ValidationFailed(str(exc), field="url") from exc
    return url


@transaction.atomic
def webhook_create(*, actor, unit: Unit, url: str, secret: str = "", active: bool = True) -> Webhook:
    webhook = Webhook.objects.create(unit=unit, url=_check_url(url), secret=secret or secret_generate(), active=active)
    event_record(
        type="webhook.created",
        subject=webhook,
        actor=actor,
        school=unit if unit.kind == "school" else None,
        data={"unit": unit.pk, "url": url, "active": active},
    )
    return webhook


@transaction.atomic
def webhook_update(*, actor, webhook: Webhook, changes: dict[str, Any]) -> Webhook:
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if "url" in changes:
        _check_url(changes["url"])
    changed = {k: v for k, v in changes.items() if getattr(webhook, k) != v}
    if not changed:
        return webhook
    for field, value in changed.items():
        setattr(webhook, field, value)
    webhook.save(update_fields=list(changed))
    shown = {k: ("(rotated)" if k == "secret" else v) for k, v in changed.items()}
    event_record(type="webhook.updated", subject=webhook, actor=actor, data={"changed": shown})
    return webhook


@transaction.atomic
def webhook_delete(*, actor, webhook: Webhook) -> None:
    event_record(
        type="webhook.deleted", subject=webhook, actor=actor, data={"unit": webhook.unit_id, "url": webhook.url}
    )
    webhook.delete()


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
