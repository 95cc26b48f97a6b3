"""Deadline fairness (CONTRACT section 7): a school's requests for more time, its appeals against a
score, and the ledger of every deduction applied or withdrawn.

Stored: what was asked, decided and applied, by whom and when. Each request moves `pending` -> one
decision, once; the database holds "one pending request per task" (partial unique constraints).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from .models import Task


class Decided(models.Model):
    """What every request about a task keeps: who asked and when, who decided, when, and why."""

    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.TextField(blank=True, default="")

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", "pending"
    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"


class ExtensionRequest(Decided):
    """A school asks for a later deadline; a supervisor approves (the task is extended) or rejects."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="extension_requests")
    requested_due_at = models.DateTimeField()
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING)
    # Made after the task's due_at then in force: a fact of the moment, kept (the deadline may move later).
    late_request = models.BooleanField(default=False)
    # The due_at an approval set (the requested one unless the supervisor chose another); null otherwise.
    decision_due_at = models.DateTimeField(null=True, blank=True)

    class Meta(Decided.Meta):
        verbose_name = gettext_lazy("extension request")
        verbose_name_plural = gettext_lazy("extension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(status=ExtensionStatus.PENDING),
                name="extension_request_one_pending_per_task",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"extension request {self.pk} ({self.task_id}, {self.status})"


class AppealStatus(models.TextChoices):
    PENDING = "pending", "pending"
    UPHELD = "upheld", "upheld"
    AMENDED = "amended", "amended"


# What an appeal may contest besides a deduction rule's code.
LATE_PENALTY = "late_penalty"


class Appeal(Decided):
    """A school contests the deductions or the late penalty of an approved task."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="appeals")
    reason = models.TextField()
    contested = models.JSONField(default=list)  # rule codes and/or "late_penalty"
    status = models.CharField(max_length=16, choices=AppealStatus.choices, default=AppealStatus.PENDING)
    score_before = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    score_after = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)

    class Meta(Decided.Meta):
        verbose_name = gettext_lazy("appeal")
        verbose_name_plural = gettext_lazy("appeals")
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=Q(status=AppealStatus.PENDING), name="appeal_one_pending_per_task"
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"appeal {self.pk} ({self.task_id}, {self.status})"


class LedgerAction(models.TextChoices):
    APPLIED = "applied", "applied"
    WITHDRAWN = "withdrawn", "withdrawn"
    CHANGED = "changed", "changed"


class LedgerSource(models.TextChoices):
    APPROVAL = "approval", "approval"
    APPEAL = "appeal", "appeal"


class DeductionEntry(models.Model):
    """One line of a task's deduction ledger: a rule or the late penalty applied at approval, or
    withdrawn, applied or changed by an appeal. Append-only; the task's score is its consequence."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="deduction_entries")
    code = models.CharField(max_length=32)  # a deduction rule's code, or "late_penalty"
    description = models.TextField(blank=True, default="")
    points = models.DecimalField(max_digits=7, decimal_places=2)
    action = models.CharField(max_length=16, choices=LedgerAction.choices)
    source = models.CharField(max_length=16, choices=LedgerSource.choices)
    appeal = models.ForeignKey(Appeal, null=True, blank=True, on_delete=models.CASCADE, related_name="ledger")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        verbose_name = gettext_lazy("deduction ledger entry")
        verbose_name_plural = gettext_lazy("deduction ledger entries")
        constraints = [models.CheckConstraint(condition=Q(points__gte=0), name="deduction_entry_points_non_negative")]

    def __str__(self) -> str:
        return f"{self.action} {self.code} {self.points} ({self.task_id})"
