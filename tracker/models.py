"""The domain's tables. Rules live in services (writes) and selectors (reads), not here.

Stored: what happened (times, actors, choices). Derived at read time: overdue, rates, ranks.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class UnitKind(models.TextChoices):
    AUTHORITY = "authority", "authority"
    SCHOOL = "school", "school"


class Unit(models.Model):
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=UnitKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["parent", "kind"])]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    SUPERVISOR = "supervisor", "supervisor"
    INSPECTOR = "inspector", "inspector"
    SCHOOL = "school", "school"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # The language of e-mail digests for this person ("where known").
    language = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique")]
        indexes = [models.Index(fields=["unit", "role"])]

    def __str__(self) -> str:
        return f"{self.user} {self.role} @ {self.unit}"


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


# The statuses in which a task still waits on the school (CONTRACT: overdue, reminders).
OPEN_STATUSES = (TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS, TaskStatus.RETURNED)


class Task(models.Model):
    """The responsibility task a criterion becomes for one school."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="tasks")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="tasks")
    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="tasks")
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.NOT_STARTED)
    # The due time in force. It follows the criterion's until an extend or a return with a rework
    # deadline gives the task its own (has_own_due); stored so that deadline queries use an index.
    due_at = models.DateTimeField()
    has_own_due = models.BooleanField(default=False)
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
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["school", "criterion"], name="task_one_per_school_criterion"),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=100), name="task_progress_0_100"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__gte=0), name="task_score_non_negative"),
        ]
        indexes = [
            models.Index(fields=["cycle", "school", "status"]),
            models.Index(fields=["cycle", "criterion"]),
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["criterion", "has_own_due"]),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.school_id}/{self.criterion_id})"


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
        ordering = ["uploaded_at", "id"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.filename


class Event(models.Model):
    """Append-only, hash-chained record of every change; the source of every side effect."""

    type = models.CharField(max_length=64, db_index=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    subject_type = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["cycle", "school", "type"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}"


class EventChainHead(models.Model):
    """One row, locked by every event writer: serialises appends so the hash chain never forks."""

    last_hash = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField(default=0)


class EventDispatch(models.Model):
    """Handling state of an event's side effects (kept apart so the events table stays immutable)."""

    event = models.OneToOneField(Event, primary_key=True, on_delete=models.PROTECT, related_name="dispatch")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # When the relay may send it again if still not done; backs off with every re-send so a slow
    # worker's backlog is not flooded with copies of messages that are merely waiting in the queue.
    next_send_at = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["next_send_at"], condition=Q(done_at__isnull=True), name="dispatch_pending_send")
        ]

    def __str__(self) -> str:
        return f"dispatch of event {self.event_id}"


class FlagSeverity(models.TextChoices):
    WARNING = "warning", "warning"
    CRITICAL = "critical", "critical"


class Flag(models.Model):
    """A school fallen behind in a cycle. At most one open flag per school x cycle."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="flags")
    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="flags")
    severity = models.CharField(max_length=16, choices=FlagSeverity.choices)
    overdue_count = models.PositiveIntegerField(default=0)
    max_days_overdue = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "school"],
                condition=Q(resolved_at__isnull=True),
                name="flag_one_open_per_school_cycle",
            )
        ]

    def __str__(self) -> str:
        return f"{self.severity} flag {self.school_id}/{self.cycle_id}"


class NotificationKind(models.TextChoices):
    DUE_SOON = "due_soon", "due soon"
    OVERDUE = "overdue", "overdue"
    ESCALATION = "escalation", "escalation"
    FLAG_OPENED = "flag_opened", "flag opened"
    FLAG_CRITICAL = "flag_critical", "flag critical"
    URGE = "urge", "urge"
    URGE_OVERDUE = "urge_overdue", "urge answer overdue"
    RETURNED = "returned", "returned"
    APPROVED = "approved", "approved"
    NOTICE_PUBLISHED = "notice_published", "notice published"


class Reminder(models.Model):
    """A reminder decided by a sweep. Recorded under a unique key before anything is sent: exactly once."""

    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    urge = models.ForeignKey("Urge", null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    # Days relative to due_at: -7, -1 (due_soon), 0, 3, 6 (overdue), 7 (escalation); 0 for flags and urges.
    stage = models.IntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(delivered_at__isnull=True), name="reminder_undelivered")
        ]


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Where it came from; each source notifies each recipient once.
    reminder = models.ForeignKey(
        Reminder, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "reminder"],
                condition=Q(reminder__isnull=False),
                name="notification_once_per_reminder",
            ),
            models.UniqueConstraint(
                fields=["recipient", "event", "kind"],
                condition=Q(event__isnull=False),
                name="notification_once_per_event",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["created_at"], condition=Q(emailed_at__isnull=True), name="notification_unmailed"),
        ]


class Urge(models.Model):
    """A supervisor's formal notice to a lagging school, which the school must answer."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="urges")
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
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["cycle", "school", "created_at"])]


class Webhook(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


class WebhookDelivery(models.Model):
    """One message to one webhook; the same id on every attempt (Standard Webhooks `webhook-id`)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    notification = models.ForeignKey(Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=64, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "notification"],
                condition=Q(notification__isnull=False),
                name="delivery_once_per_notification",
            )
        ]


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
    score = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["date", "school"]
        constraints = [models.UniqueConstraint(fields=["cycle", "school", "date"], name="snapshot_one_per_day")]


class DailyDigest(models.Model):
    """A daily digest mailed to one member of one unit for one local date. Claimed under this unique
    key before it is sent, so two beats (or a redelivered task) firing the job mail it once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "unit", "day"], name="daily_digest_once_per_day")]


# Contexts with their own models module; imported here so Django registers them under this app.
from .inspections.models import (  # noqa: E402, F401
    Case,
    CaseRead,
    CaseStatus,
    CaseType,
    Inspection,
    InspectionKind,
    InspectionTarget,
    Notice,
    TargetKind,
)
