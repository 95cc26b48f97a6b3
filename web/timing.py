"""How a task stands against its deadline, as the lists and pages show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracker.assessment.rules import is_open, task_days_overdue, task_is_overdue
from tracker.models import Task


def timing(task: Task, now: datetime) -> dict[str, Any]:
    """Overdue and days overdue (the domain's one definition), or the whole days left while open."""
    overdue = task_is_overdue(task, now)
    return {
        "is_overdue": overdue,
        "days_overdue": task_days_overdue(task, now),
        "days_left": (task.due_at - now).days if is_open(task.status) and not overdue else None,
    }
