"""Reads of the event log."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from .models import Event


def task_history(task: models.Model) -> QuerySet[Event]:
    """Every event about one task, oldest first: its transitions, evidence and deadline moves."""
    return Event.objects.filter(task=task).select_related("actor").order_by("id")
