"""Inspection rounds, cases, the case access log and published notices (CONTRACT section 9)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy


class InspectionKind(models.TextChoices):
    ANNOUNCED = "announced", "announced"
    UNANNOUNCED = "unannounced", "unannounced"


class TargetKind(models.TextChoices):
    SCHOOL = "school", "school"
    NEIGHBOURHOOD = "neighbourhood", "neighbourhood"
    TUTORING_CENTRE = "tutoring_centre", "tutoring centre"
    OTHER = "other", "other"


class Inspection(models.Model):
    """One round of visits by the authority's inspectors (明查 announced, 暗访 unannounced)."""

    authority = models.ForeignKey("tracker.Unit", on_delete=models.PROTECT, related_name="inspections")
    kind = models.CharField(max_length=16, choices=InspectionKind.choices)
    held_on = models.DateField()
    # People sent on the round: the person-visits of the statistics are the sum of this column.
    inspectors = models.PositiveIntegerField()
    summary = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = gettext_lazy("inspection round")
        verbose_name_plural = gettext_lazy("inspection rounds")
        ordering = ["-held_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(inspectors__gte=1), name="inspection_inspectors_positive")]
        indexes = [models.Index(fields=["authority", "held_on"])]

    def __str__(self) -> str:
        return f"inspection {self.pk} ({self.held_on})"


class InspectionTarget(models.Model):
    """A place a round visited. Its own table, so the statistics count targets by kind in SQL."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="targets")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=TargetKind.choices)
    name = models.CharField(max_length=200)
    school = models.ForeignKey(
        "tracker.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="inspection_visits"
    )

    class Meta:
        verbose_name = gettext_lazy("inspection target")
        verbose_name_plural = gettext_lazy("inspection targets")
        ordering = ["inspection", "position"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "position"], name="inspection_target_position_unique"),
            # A school target names the school unit, and only a school target does.
            models.CheckConstraint(
                condition=Q(kind="school", school__isnull=False) | (~Q(kind="school") & Q(school__isnull=True)),
                name="inspection_target_school_iff_school_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class CaseType(models.TextChoices):
    PAID_TUTORING = "paid_tutoring", "paid tutoring"
    BANQUET = "banquet", "banquet"
    SECOND_JOB = "second_job", "second job"
    PRIVATE_GAIN = "private_gain", "private gain"
    OTHER = "other", "other"


class CaseStatus(models.TextChoices):
    REPORTED = "reported", "reported"
    INVESTIGATING = "investigating", "investigating"
    CONCLUDED = "concluded", "concluded"


class Case(models.Model):
    """A violation found by (or reported to) the authority's inspectors. Holds people's full names:
    read only by the authority's supervisors and inspectors, every read logged in CaseRead."""

    authority = models.ForeignKey("tracker.Unit", on_delete=models.PROTECT, related_name="cases")
    inspection = models.ForeignKey(Inspection, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    school = models.ForeignKey(
        "tracker.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="school_cases"
    )
    type = models.CharField(max_length=16, choices=CaseType.choices)
    occurred_on = models.DateField()
    summary = models.TextField()
    persons = models.JSONField(default=list, blank=True)  # full names, in the order given
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.REPORTED)
    disposition = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    concluded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("case")
        verbose_name_plural = gettext_lazy("cases")
        ordering = ["-occurred_on", "-id"]
        indexes = [
            models.Index(fields=["authority", "occurred_on"]),
            models.Index(fields=["authority", "status"]),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.type}, {self.status})"


class CaseRead(models.Model):
    """Who read a case, when, and through which route. Append-only (a trigger refuses UPDATE and
    DELETE on PostgreSQL); inspectors list it at /api/v1/cases/{id}/reads/."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reads")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    read_at = models.DateTimeField()
    via = models.CharField(max_length=32)  # "api.detail", "api.list", "web.detail", ...

    class Meta:
        verbose_name = gettext_lazy("case read")
        verbose_name_plural = gettext_lazy("case reads")
        ordering = ["-read_at", "-id"]
        indexes = [models.Index(fields=["case", "read_at"])]

    def __str__(self) -> str:
        return f"case {self.case_id} read by {self.reader_id} at {self.read_at}"


class Notice(models.Model):
    """A concluded case published as a warning to every account under its authority.

    Holds only redacted text (surname + 某): the case's full names never reach this table. Title and
    body are composed in the reader's language from these fields (tracker.inspections.texts)."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="notice")
    authority = models.ForeignKey("tracker.Unit", on_delete=models.PROTECT, related_name="notices")
    type = models.CharField(max_length=16, choices=CaseType.choices)
    occurred_on = models.DateField()
    persons = models.JSONField(default=list, blank=True)  # redacted: ["张某", "欧阳某"]
    summary = models.TextField()
    disposition = models.TextField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = gettext_lazy("notice")
        verbose_name_plural = gettext_lazy("notices")
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["authority", "published_at"])]

    def __str__(self) -> str:
        return f"notice {self.pk} of case {self.case_id}"


class CaseRectification(models.Model):
    """A rectification task a case ordered for its school (CONTRACT section 9, `/cases/{id}/rectify/`).

    The link lives here, beside the case, so the task machine (tracker.assessment) and the integrity
    programme never learn that cases exist; the task's own text is the redacted description."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="rectifications")
    task = models.OneToOneField("tracker.Task", on_delete=models.PROTECT, related_name="case_rectification")
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ordered_at = models.DateTimeField()

    class Meta:
        verbose_name = gettext_lazy("case rectification")
        verbose_name_plural = gettext_lazy("case rectifications")
        ordering = ["ordered_at", "id"]

    def __str__(self) -> str:
        return f"rectification task {self.task_id} of case {self.case_id}"
