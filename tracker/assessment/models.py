"""Assessment: cycles, their criteria, the task each criterion becomes for each school, evidence.

Stored: what happened (times, actors, choices). Derived at read time (tracker.assessment.rules): open,
overdue, days overdue.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from tracker.org.models import Unit


class CycleStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    ACTIVE = "active", "active"
    CLOSED = "closed", "closed"


class Cycle(models.Model):
    authority = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="cycles")
    name = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(max_length=16, choices=CycleStatus.choices, default=CycleStatus.DRAFT)
    # Per-cycle overrides of settings.TRACKER thresholds; null = the setting.
    warning_overdue_tasks = models.PositiveIntegerField(null=True, blank=True)
    critical_overdue_tasks = models.PositiveIntegerField(null=True, blank=True)
    critical_days_overdue = models.PositiveIntegerField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("assessment cycle")
        verbose_name_plural = gettext_lazy("assessment cycles")
        ordering = ["-starts_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="cycle_dates_ordered")
        ]

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="criteria")
    code = models.CharField(max_length=32)
    title = models.CharField(max_length=300)
    category = models.CharField(max_length=100)
    requirement = models.TextField(blank=True, default="")
    due_at = models.DateTimeField()
    max_score = models.DecimalField(max_digits=7, decimal_places=2)
    min_evidence = models.PositiveIntegerField(default=1)
    # [{"code": "D1", "description": "...", "points": "2"}]
    deduction_rules = models.JSONField(default=list, blank=True)
    late_penalty_per_day = models.DecimalField(max_digits=7, decimal_places=2, default=0)
    late_penalty_cap = models.DecimalField(max_digits=7, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("criterion")
        verbose_name_plural = gettext_lazy("criteria")
        ordering = ["cycle", "code"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "code"], name="criterion_code_unique_in_cycle"),
            models.CheckConstraint(condition=Q(max_score__gte=0), name="criterion_max_score_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", "not started"
    IN_PROGRESS = "in_progress", "in progress"
    SUBMITTED = "submitted", "submitted"
    RETURNED = "returned", "returned"
    APPROVED = "approved", "approved"


class TaskKind(models.TextChoices):
    ASSESSMENT = "assessment", "assessment"
    RECTIFICATION = "rectification", "rectification"


# A rectification carries no score, and needs this many evidence files before it can be submitted.
RECTIFICATION_MAX_SCORE = Decimal("0")
RECTIFICATION_MIN_EVIDENCE = 1


class Task(models.Model):
    """The unit of accountability of one school: the task a criterion becomes (kind `assessment`, in a
    cycle) or a problem to rectify (kind `rectification`, in an integrity campaign: a self-inspection
    finding or a case). Both go through the same transitions, deadlines, reminders and flags."""

    # Database defaults too: the set-based inserts (activation, benchmarks) name only what they set.
    kind = models.CharField(
        max_length=16, choices=TaskKind.choices, default=TaskKind.ASSESSMENT, db_default=TaskKind.ASSESSMENT
    )
    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    criterion = models.ForeignKey(Criterion, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    # The integrity campaign a rectification belongs to (tracker.integrity, a context above this one).
    campaign = models.ForeignKey(
        "tracker.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    # A rectification's own title and requirement (the finding's or case's description); an assessment
    # task takes both from its criterion (see `heading`).
    title = models.CharField(max_length=300, blank=True, default="", db_default="")
    requirement = models.TextField(blank=True, default="", db_default="")
    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="tasks")
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.NOT_STARTED)
    # The due time in force. It follows the criterion's until an extend or a return with a rework
    # deadline gives the task its own (has_own_due); stored so that deadline queries use an index.
    due_at = models.DateTimeField()
    has_own_due = models.BooleanField(default=False)
    # The criterion's due time, which only criterion edits move (extensions and rework deadlines never
    # do): the on-time-against-the-original rate is judged on it (CONTRACT section 7).
    original_due_at = models.DateTimeField()
    # When due_at was last set: the task's creation, an extension, a rework deadline, or a criterion
    # edit that moved it. Early warning measures the expected progress from here to due_at.
    due_set_at = models.DateTimeField()
    # How many times the task's deadline was extended (by `extend`, or an approved extension request).
    extensions = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)
    note = models.TextField(blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The due_at in force at the latest submission: on-time rate and late penalty are judged on it.
    submitted_due_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    deductions = models.JSONField(default=list, blank=True)
    late_penalty = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    review_comment = models.TextField(blank=True, default="")
    return_reason = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    # When the latest thing happened to the task (a transition, an evidence upload or deletion), as the
    # `now` of the service that did it; NULL until the school first acts. The dashboards' last activity.
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("responsibility task")
        verbose_name_plural = gettext_lazy("responsibility tasks")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["school", "criterion"], name="task_one_per_school_criterion"),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=100), name="task_progress_0_100"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__gte=0), name="task_score_non_negative"),
            models.CheckConstraint(
                condition=Q(
                    kind=TaskKind.ASSESSMENT, cycle__isnull=False, criterion__isnull=False, campaign__isnull=True
                )
                | Q(kind=TaskKind.RECTIFICATION, cycle__isnull=True, criterion__isnull=True, campaign__isnull=False),
                name="task_kind_belongs_to_its_round",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "school", "status"]),
            models.Index(fields=["cycle", "school", "status"]),
            models.Index(fields=["cycle", "criterion"]),
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["criterion", "has_own_due"]),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.school_id}/{self.criterion_id or self.kind})"

    # What people read about a task, whatever its kind (texts, notifications, pages).
    @property
    def code(self) -> str:
        return self.criterion.code if self.criterion_id else ""

    @property
    def heading(self) -> str:
        return self.criterion.title if self.criterion_id else self.title

    @property
    def label(self) -> str:
        return f"{self.code} {self.heading}".strip()

    @property
    def requirement_text(self) -> str:
        return self.criterion.requirement if self.criterion_id else self.requirement

    # The criterion's rules, or the fixed ones of a rectification.
    @property
    def min_evidence(self) -> int:
        return self.criterion.min_evidence if self.criterion_id else RECTIFICATION_MIN_EVIDENCE

    @property
    def rules(self) -> list[dict]:
        """The deduction rules that apply: the criterion's; a rectification has none."""
        return self.criterion.deduction_rules if self.criterion_id else []

    @property
    def max_score(self) -> Decimal:
        return self.criterion.max_score if self.criterion_id else RECTIFICATION_MAX_SCORE


def evidence_storage_name() -> str:
    return uuid.uuid4().hex


class Evidence(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="evidence")
    filename = models.CharField(max_length=255)  # shown to people only; never used on disk
    stored_name = models.CharField(max_length=64, unique=True, default=evidence_storage_name, editable=False)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        verbose_name = gettext_lazy("evidence file")
        verbose_name_plural = gettext_lazy("evidence")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.filename
