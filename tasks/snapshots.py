from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from tracker.services.snapshots import snapshots_take


@shared_task(
    name="tracker.take_snapshots",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def take_snapshots() -> int:
    """Beat runs this once a day (23:50 local time); repeating it the same day is harmless."""
    return snapshots_take(now=timezone.now())
