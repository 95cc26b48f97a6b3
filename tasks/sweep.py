from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from tracker.sweep import sweep_run


@shared_task(
    name="tracker.sweep",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def run_sweep() -> dict:
    """Beat runs this every TRACKER["SWEEP_EVERY_MINUTES"]; a retry or a second beat sends nothing twice."""
    return sweep_run(now=timezone.now()).as_dict()
