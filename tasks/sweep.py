from __future__ import annotations

from django.utils import timezone

from tracker.monitoring.sweep import sweep_run

from .policy import job


@job(name="tracker.sweep")
def run_sweep() -> dict:
    """Beat runs this every TRACKER["SWEEP_EVERY_MINUTES"]; a retry or a second beat sends nothing twice."""
    return sweep_run(now=timezone.now()).as_dict()
