"""How a task stands against its deadline, as the lists and pages show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracker.models import OPEN_STATUSES, Task
from tracker.selectors import task_days_overdue, task_is_overdue


def timing(task: Task, now: datetime) -> dict[str, Any]:
    """Overdue and days overdue (the domain's one definition), or the whole days left while open."""
    overdue = task_is_overdue(task, now)
    return {
        "is_overdue": overdue,
        "days_overdue": task_days_overdue(task, now),
        "days_left": (task.due_at - now).days if task.status in OPEN_STATUSES and not overdue else None,
    }
