"""Events about a task: recorded with the task's cycle, school and the task itself, so the task's
history (tracker.audit.selectors.task_history) has every one of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType

from .models import Task


def task_event_record(
    task: Task,
    *,
    type: EventType,
    actor: Actor,
    now: datetime,
    data: dict[str, Any],
    subject: models.Model | None = None,
) -> None:
    """Record an event about a task (its cycle, school and the task itself), about `subject` or the task."""
    event_record(
        type=type,
        subject=subject or task,
        actor=actor,
        cycle=task.cycle,
        school=task.school,
        task=task,
        now=now,
        data=data,
    )
