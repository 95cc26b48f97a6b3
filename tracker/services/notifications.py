"""The recipient marks a notification read."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ..models import Notification


def notification_read(*, notification: Notification, actor, now: datetime | None = None) -> Notification:
    """Idempotent: the first read time stays."""
    now = now or timezone.now()
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_read_all(*, actor, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=now)
