"""Audit: the append-only, hash-chained event log and the state of each event's side effects.

The bottom of the domain: it imports no other context. Foreign keys to other contexts' models are
written as "tracker.<Model>" strings for that reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy


class Event(models.Model):
    """Append-only, hash-chained record of every change; the source of every side effect."""

    type = models.CharField(max_length=64, db_index=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cycle = models.ForeignKey("tracker.Cycle", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("tracker.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey("tracker.Task", null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    subject_type = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = gettext_lazy("event")
        verbose_name_plural = gettext_lazy("events")
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

    class Meta:
        verbose_name = gettext_lazy("event chain head")
        verbose_name_plural = gettext_lazy("event chain heads")


class EventDispatch(models.Model):
    """Handling state of an event's side effects (kept apart so the events table stays immutable)."""

    event = models.OneToOneField(Event, primary_key=True, on_delete=models.PROTECT, related_name="dispatch")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the relay may send it again if still not done; backs off with every re-send so a slow
    # worker's backlog is not flooded with copies of messages that are merely waiting in the queue.
    next_send_at = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = gettext_lazy("event dispatch")
        verbose_name_plural = gettext_lazy("event dispatches")
        indexes = [
            models.Index(fields=["next_send_at"], condition=Q(done_at__isnull=True), name="dispatch_pending_send")
        ]

    def __str__(self) -> str:
        return f"dispatch of event {self.event_id}"
