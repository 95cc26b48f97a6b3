from __future__ import annotations

from django.utils import timezone

from tracker.reporting.daily_digest import daily_digest_send

from .policy import job


@job(name="tracker.daily_digest")
def send_daily_digest() -> int:
    """Beat runs this once a day (TRACKER["DIGEST_HOUR"], local time)."""
    return daily_digest_send(now=timezone.now())
