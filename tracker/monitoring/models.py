"""Monitoring: schools fallen behind (flags), urges to them, and the reminders the sweep decides."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from tracker.assessment.models import Cycle, Task
from tracker.integrity.models import Campaign, Checklist
from tracker.notify.models import NotificationKind
from tracker.org.models import Unit


class FlagSeverity(models.TextChoices):
    WARNING = "warning", "warning"
    CRITICAL = "critical", "critical"


# A flag or an urge concerns a school in one round: a cycle, or an integrity campaign (never both).
ONE_ROUND = Q(cycle__isnull=False, campaign__isnull=True) | Q(cycle__isnull=True, campaign__isnull=False)


class Flag(models.Model):
    """A school fallen behind in a cycle or a campaign. At most one open flag per school x round."""

    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="flags")
    severity = models.CharField(max_length=16, choices=FlagSeverity.choices)
    overdue_count = models.PositiveIntegerField(default=0)
    max_days_overdue = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("flag")
        verbose_name_plural = gettext_lazy("flags")
        ordering = ["-opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "school"],
                condition=Q(resolved_at__isnull=True),
                name="flag_one_open_per_school_cycle",
            ),
            models.UniqueConstraint(
                fields=["campaign", "school"],
                condition=Q(resolved_at__isnull=True),
                name="flag_one_open_per_school_campaign",
            ),
            models.CheckConstraint(condition=ONE_ROUND, name="flag_in_one_round"),
        ]

    def __str__(self) -> str:
        return f"{self.severity} flag {self.school_id}/{self.cycle_id or f'campaign {self.campaign_id}'}"


class Reminder(models.Model):
    """A reminder decided by a sweep. Recorded under a unique key before anything is sent: exactly once."""

    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    urge = models.ForeignKey("Urge", null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    checklist = models.ForeignKey(Checklist, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    # Days relative to due_at: -7, -1 (due_soon), 0, 3, 6 (overdue), 7 (escalation); 0 for flags and urges.
    stage = models.IntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = gettext_lazy("reminder")
        verbose_name_plural = gettext_lazy("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["task", "kind", "stage", "due_at"],
                condition=Q(task__isnull=False),
                name="reminder_once_per_task",
            ),
            models.UniqueConstraint(
                fields=["flag", "kind"], condition=Q(flag__isnull=False), name="reminder_once_per_flag"
            ),
            models.UniqueConstraint(
                fields=["urge", "kind"], condition=Q(urge__isnull=False), name="reminder_once_per_urge"
            ),
            models.UniqueConstraint(
                fields=["checklist", "kind", "stage", "due_at"],
                condition=Q(checklist__isnull=False),
                name="reminder_once_per_checklist",
            ),
        ]


class Urge(models.Model):
    """A supervisor's formal notice to a lagging school, which the school must answer."""

    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.CASCADE, related_name="urges")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="urges")
    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="urges")
    message = models.TextField()
    respond_by = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    response = models.TextField(blank=True, default="")
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = gettext_lazy("urge")
        verbose_name_plural = gettext_lazy("urges")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=ONE_ROUND, name="urge_in_one_round")]
        indexes = [
            models.Index(fields=["cycle", "school", "created_at"]),
            models.Index(fields=["campaign", "school", "created_at"]),
        ]


class SweepRun(models.Model):
    """One sweep fanned out by beat over shards of schools (tracker.monitoring.shards): what it is as of,
    and, once its closing step (urges, digests, lost webhooks) has run, when and what the whole did."""

    now = models.DateTimeField()
    created_at = models.DateTimeField()
    shard_count = models.PositiveIntegerField()
    closed_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = gettext_lazy("sweep run")
        verbose_name_plural = gettext_lazy("sweep runs")
        indexes = [models.Index(fields=["created_at"])]


class SweepShard(models.Model):
    """One shard of a sweep run: the schools with lo <= id < hi (an open end is None). `attempts` counts
    the runs that started (a killed worker's included), `done_at` the one that finished it."""

    run = models.ForeignKey(SweepRun, on_delete=models.CASCADE, related_name="shards")
    number = models.PositiveIntegerField()
    school_lo = models.BigIntegerField(null=True, blank=True)
    school_hi = models.BigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = gettext_lazy("sweep shard")
        verbose_name_plural = gettext_lazy("sweep shards")
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="sweep_shard_once_per_run")]
