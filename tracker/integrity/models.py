"""Integrity programme (CONTRACT section 8, SEED facts 5-7): the province's two lists, each school's
register of power items and risk points, self-inspection campaigns and their checks.

A problem found becomes a rectification *task* (tracker.assessment.models.Task, kind "rectification",
campaign set): deadlines, reminders, flags, urges and dashboards are the task machine's, not copied here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from tracker.assessment.models import Task
from tracker.org.models import Unit


class ListKind(models.TextChoices):
    MICRO_POWER = "micro_power", "small and micro powers"
    NEGATIVE = "negative", "negative list for running schools"


class ListItem(models.Model):
    """One item of one of the two lists. An authority's items apply to every school under it; a school
    may add its own, which apply to it alone."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="list_items")
    list = models.CharField(max_length=16, choices=ListKind.choices)
    code = models.CharField(max_length=32)
    title = models.CharField(max_length=300)
    category = models.CharField(max_length=100, blank=True, default="")
    basis = models.TextField(blank=True, default="")  # the rule or document the item rests on
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("list item")
        verbose_name_plural = gettext_lazy("list items")
        ordering = ["list", "code", "id"]
        constraints = [models.UniqueConstraint(fields=["unit", "list", "code"], name="list_item_code_unique")]
        indexes = [models.Index(fields=["unit", "list"])]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Post(models.TextChoices):
    LEADER = "leader", "school leader"
    MIDDLE_MANAGER = "middle_manager", "middle manager"
    CLASS_TEACHER = "class_teacher", "class teacher"
    SUBJECT_TEACHER = "subject_teacher", "subject teacher"
    OTHER = "other", "other"


class RiskLevel(models.TextChoices):
    LOW = "low", "low"
    MEDIUM = "medium", "medium"
    HIGH = "high", "high"


class RegisterStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    SUBMITTED = "submitted", "submitted"
    RETURNED = "returned", "returned"
    APPROVED = "approved", "approved"


class Register(models.Model):
    """A school's power items and risk points for one year, and their review by a supervisor.

    A school without a row has an empty draft register; the row is made by its first risk point."""

    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="registers")
    year = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=RegisterStatus.choices, default=RegisterStatus.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    return_reason = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("risk register")
        verbose_name_plural = gettext_lazy("risk registers")
        ordering = ["-year", "school", "id"]
        constraints = [models.UniqueConstraint(fields=["school", "year"], name="register_one_per_school_year")]

    def __str__(self) -> str:
        return f"register {self.school_id}/{self.year}"


class RiskPoint(models.Model):
    """An integrity risk of one post in exercising one list item, with its prevention measures and,
    for a high risk, the process map (ordered steps, each with its role and whether it is a control)."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="risk_points")
    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="risk_points")
    item = models.ForeignKey(ListItem, on_delete=models.PROTECT, related_name="risk_points")
    post = models.CharField(max_length=16, choices=Post.choices)
    description = models.TextField()
    level = models.CharField(max_length=8, choices=RiskLevel.choices)
    measures = models.JSONField(default=list)  # ["measure", ...], at least one
    process_map = models.JSONField(default=list, blank=True)  # [{"step", "role", "control"}, ...]
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("risk point")
        verbose_name_plural = gettext_lazy("risk points")
        ordering = ["id"]
        indexes = [models.Index(fields=["school", "register"]), models.Index(fields=["register", "level"])]

    def __str__(self) -> str:
        return f"risk {self.pk} ({self.level}) of {self.item_id}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    ACTIVE = "active", "active"
    CLOSED = "closed", "closed"


class CampaignKind(models.TextChoices):
    SELF_INSPECTION = "self_inspection", "self-inspection"
    # The authority's "<year> case rectifications": home of the rectifications ordered from cases.
    CASES = "cases", "case rectifications"


class Campaign(models.Model):
    """A self-inspection round of an authority over one or both lists, with a deadline. Its
    rectification tasks (Task.campaign) are chased like any task while it is active."""

    authority = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="campaigns")
    kind = models.CharField(max_length=16, choices=CampaignKind.choices, default=CampaignKind.SELF_INSPECTION)
    title = models.CharField(max_length=200)
    lists = models.JSONField(default=list)  # ListKind values
    due_at = models.DateTimeField()
    year = models.PositiveSmallIntegerField()  # of due_at, in TIME_ZONE: the registers it looks at
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    created_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("self-inspection campaign")
        verbose_name_plural = gettext_lazy("self-inspection campaigns")
        ordering = ["-due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "year"], condition=Q(kind="cases"), name="campaign_one_cases_per_authority_year"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Checklist(models.Model):
    """One school's checks in one campaign: due with the campaign, done when its last check is recorded.

    The sweep reminds and flags a school whose checklist is still open past the campaign's deadline
    through the same reminder and flag machine as tasks (tracker.monitoring)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="checklists")
    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="checklists")
    due_at = models.DateTimeField()  # the campaign's, stored so deadline queries use an index
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("self-inspection checklist")
        verbose_name_plural = gettext_lazy("self-inspection checklists")
        ordering = ["campaign", "school", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "school"], name="checklist_one_per_school")]
        indexes = [models.Index(fields=["due_at"], condition=Q(completed_at__isnull=True), name="checklist_open_due")]

    def __str__(self) -> str:
        return f"checklist {self.campaign_id}/{self.school_id}"


class CheckResult(models.TextChoices):
    OK = "ok", "ok"
    FINDING = "finding", "finding"


class Check(models.Model):
    """One school checked against one item in one campaign: `ok`, or a `finding` to rectify."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="checks")
    school = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="checks")
    item = models.ForeignKey(ListItem, on_delete=models.PROTECT, related_name="checks")
    # NULL until recorded (the contract's `result: null`), distinct from every result.
    result = models.CharField(max_length=8, choices=CheckResult.choices, null=True, blank=True)  # noqa: DJ001
    note = models.TextField(blank=True, default="")
    checked_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finding = models.TextField(blank=True, default="")  # the finding's description
    rectify_by = models.DateTimeField(null=True, blank=True)
    task = models.OneToOneField(Task, null=True, blank=True, on_delete=models.PROTECT, related_name="source_check")

    class Meta:
        verbose_name = gettext_lazy("self-inspection check")
        verbose_name_plural = gettext_lazy("self-inspection checks")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "school", "item"], name="check_one_per_school_item"),
            models.CheckConstraint(
                condition=Q(result__isnull=True, checked_at__isnull=True)
                | Q(result="ok", checked_at__isnull=False, task__isnull=True)
                | Q(result="finding", checked_at__isnull=False, rectify_by__isnull=False),
                name="check_result_consistent",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "school", "result"])]

    def __str__(self) -> str:
        return f"check {self.pk} ({self.result or 'open'})"
