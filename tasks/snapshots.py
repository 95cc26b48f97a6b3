from __future__ import annotations

from django.utils import timezone

from tracker.reporting.snapshots import snapshots_take

from .policy import job


@job(name="tracker.take_snapshots")
def take_snapshots() -> int:
    """Beat runs this once a day (23:50 local time); repeating it the same day is harmless."""
    return snapshots_take(now=timezone.now())
