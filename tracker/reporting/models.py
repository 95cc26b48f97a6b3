"""Reporting: the daily trend snapshots and the daily digests' once-per-day record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from tracker.assessment.models import Cycle
from tracker.org.models import Unit


class DailySnapshot(models.Model):
    """A school's counts, rates and score on one day of a cycle: the trend series."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="snapshots")
    school = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="snapshots")
    date = models.DateField()
    tasks = models.PositiveIntegerField()
    approved = models.PositiveIntegerField()
    submitted = models.PositiveIntegerField()
    overdue = models.PositiveIntegerField()
    due_passed = models.PositiveIntegerField()
    on_time = models.PositiveIntegerField()
    # Against the original deadline (CONTRACT section 7); null on the days before these were counted.
    original_due_passed = models.PositiveIntegerField(null=True, blank=True)
    on_time_original = models.PositiveIntegerField(null=True, blank=True)
    score = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = gettext_lazy("daily snapshot")
        verbose_name_plural = gettext_lazy("daily snapshots")
        ordering = ["date", "school"]
        constraints = [models.UniqueConstraint(fields=["cycle", "school", "date"], name="snapshot_one_per_day")]


class DailyDigest(models.Model):
    """The outbox of daily digests: one row per member of a unit per local date (the unique key, so two
    beats or a redelivered task never make two). A run claims a row for a while (claimed_until) and
    marks it sent only once the mail back-end has accepted the message; a run that died holding a
    claim leaves it to the next run once the claim has lapsed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = gettext_lazy("daily digest")
        verbose_name_plural = gettext_lazy("daily digests")
        constraints = [models.UniqueConstraint(fields=["user", "unit", "day"], name="daily_digest_once_per_day")]


class OverviewParts(models.Model):
    """A cycle's flat overview parts (tracker.reporting.overview_parts), stored beside the cache: when the
    cache has lost them (emptied, restarted, evicted), the next read patches these, as it would the cache's,
    rather than building the overview in full (tracker.reporting.overview_cache). `value` is the parts'
    value (a tuple of numbers, text, bytes and arrays, starting with its token and time) pickled and
    compressed with zlib; the token says whether it can still be patched, so a stale row is never served."""

    key = models.CharField(max_length=200, unique=True)  # the cache key the parts are kept under
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    token = models.TextField()
    kept_at = models.DateTimeField()  # the parts' `now`
    value = models.BinaryField()

    class Meta:
        verbose_name = gettext_lazy("overview parts")
        verbose_name_plural = gettext_lazy("overview parts")
