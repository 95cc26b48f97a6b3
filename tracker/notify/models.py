"""Notify: in-app notifications, their kinds, and webhooks with their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from tracker.assessment.models import Cycle, Task
from tracker.audit.models import Event
from tracker.org.models import Unit


class NotificationKind(models.TextChoices):
    DUE_SOON = "due_soon", "due soon"
    OVERDUE = "overdue", "overdue"
    ESCALATION = "escalation", "escalation"
    FLAG_OPENED = "flag_opened", "flag opened"
    FLAG_CRITICAL = "flag_critical", "flag critical"
    URGE = "urge", "urge"
    URGE_OVERDUE = "urge_overdue", "urge answer overdue"
    # To the bureau (supervisors and inspectors): a school answered an urge, or left it unanswered.
    URGE_ANSWERED = "urge_answered", "urge answered"
    URGE_UNANSWERED = "urge_unanswered", "urge unanswered"
    RETURNED = "returned", "returned"
    APPROVED = "approved", "approved"
    NOTICE_PUBLISHED = "notice_published", "notice published"
    AT_RISK = "at_risk", "at risk"
    EXTENSION_REQUESTED = "extension_requested", "extension requested"
    EXTENSION_APPROVED = "extension_approved", "extension approved"
    EXTENSION_REJECTED = "extension_rejected", "extension rejected"
    APPEAL_DECIDED = "appeal_decided", "appeal decided"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Where it came from; each source notifies each recipient once.
    reminder = models.ForeignKey(
        "tracker.Reminder", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("notification")
        verbose_name_plural = gettext_lazy("notifications")
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


class Webhook(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("webhook")
        verbose_name_plural = gettext_lazy("webhooks")

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
        verbose_name = gettext_lazy("webhook delivery")
        verbose_name_plural = gettext_lazy("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "notification"],
                condition=Q(notification__isnull=False),
                name="delivery_once_per_notification",
            )
        ]
