"""Writes of the notify context: webhooks (create, change, remove) and reading notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tracker.audit.events import event_record
from tracker.audit.models import Event
from tracker.audit.types import Actor, EventType
from tracker.errors import ValidationFailed
from tracker.org.models import Unit, UnitKind
from tracker.org.selectors import authority_supervisors, school_members
from tracker.updates import model_update

from .deliveries import event_deliveries_create
from .models import Notification, Webhook
from .texts import render
from .webhook_http import UnsafeTarget, secret_generate, target_check

WEBHOOK_UPDATABLE = ("url", "secret", "active")


def webhook_url_check(url: str) -> str:
    """The target must be a public address (SSRF); ValidationFailed names `url`. The admin's form asks too."""
    try:
        target_check(url)
    except UnsafeTarget as exc:
        raise ValidationFailed(str(exc), field="url") from exc
    return url


@transaction.atomic
def webhook_create(*, actor: Actor, unit: Unit, url: str, secret: str = "", active: bool = True) -> Webhook:
    webhook = Webhook.objects.create(
        unit=unit, url=webhook_url_check(url), secret=secret or secret_generate(), active=active
    )
    event_record(
        type=EventType.WEBHOOK_CREATED,
        subject=webhook,
        actor=actor,
        school=unit if unit.kind == UnitKind.SCHOOL else None,
        data={"unit": unit.pk, "url": url, "active": active},
    )
    return webhook


@transaction.atomic
def webhook_update(*, actor: Actor, webhook: Webhook, changes: dict[str, Any]) -> Webhook:
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if "url" in changes:
        webhook_url_check(changes["url"])
    changed = model_update(instance=webhook, fields=WEBHOOK_UPDATABLE, data=changes)
    if changed:
        shown = {k: ("(rotated)" if k == "secret" else v) for k, v in changed.items()}
        event_record(type=EventType.WEBHOOK_UPDATED, subject=webhook, actor=actor, data={"changed": shown})
    return webhook


@transaction.atomic
def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    event_record(
        type=EventType.WEBHOOK_DELETED,
        subject=webhook,
        actor=actor,
        data={"unit": webhook.unit_id, "url": webhook.url},
    )
    webhook.delete()


def notification_read(*, notification: Notification, actor: Actor, now: datetime | None = None) -> Notification:
    """Idempotent: the first read time stays."""
    now = now or timezone.now()
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_read_all(*, actor: Actor, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=now)


# --- Notifications of events (run by event handlers; once per recipient x event x kind) ----------------
def event_school_notify_rendered(*, event: Event, kind: str, ctx: dict[str, Any]) -> int:
    """Notify every account of the event's school in its own language, and the school's webhooks (in
    LANGUAGE_CODE). The notification points at the event's task, if it has one."""
    created = event_notify_rendered(event=event, kind=kind, ctx=ctx, recipients=school_members(event.school_id))
    title, body = render(kind, ctx, settings.LANGUAGE_CODE)
    event_deliveries_create(event=event, kind=kind, title=title, body=body)
    return created


def event_authority_notify_rendered(*, event: Event, kind: str, ctx: dict[str, Any]) -> int:
    """Notify the supervisors of the nearest authority of the event's school, each in their language."""
    return event_notify_rendered(event=event, kind=kind, ctx=ctx, recipients=authority_supervisors(event.school_id))


def event_notify_rendered(*, event: Event, kind: str, ctx: dict[str, Any], recipients: list[tuple[int, str]]) -> int:
    """In-app notifications of an event to (user id, language) recipients, each in their language."""
    rows = []
    for user_id, language in dict(recipients).items():
        title, body = render(kind, ctx, language)
        rows.append(
            Notification(
                recipient_id=user_id,
                kind=kind,
                title=title[:300],
                body=body,
                school_id=event.school_id,
                cycle_id=event.cycle_id,
                task_id=event.task_id,
                event=event,
                created_at=event.occurred_at,
            )
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
