from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from tracker.notifications import daily_digest_send


@shared_task(
    name="tracker.daily_digest",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def send_daily_digest() -> int:
    """Beat runs this once a day (TRACKER["DIGEST_HOUR"], local time)."""
    return daily_digest_send(now=timezone.now())
