"""How tasks and urges stand against their deadlines, as the lists and pages show it (the rules are the domain's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracker.assessment.rules import is_open, task_days_overdue, task_is_overdue
from tracker.models import Task, Urge
from tracker.monitoring.rules import task_is_at_risk, urge_is_overdue


def timing(task: Task, now: datetime) -> dict[str, Any]:
    """Overdue and days overdue (the domain's one definition), or the whole days left while open, and
    whether early warning judges the task at risk (the domain's one definition too)."""
    overdue = task_is_overdue(task, now)
    return {
        "is_overdue": overdue,
        "is_at_risk": task_is_at_risk(task, now),
        "days_overdue": task_days_overdue(task, now),
        "days_left": (task.due_at - now).days if is_open(task.status) and not overdue else None,
    }


def urge_state(urge: Urge, now: datetime) -> str:
    """answered (in time), late (answered after respond_by), overdue (no answer past it) or awaiting."""
    if urge.responded_at is not None:
        return "late" if urge.responded_at > urge.respond_by else "answered"
    overdue = urge_is_overdue(responded_at=urge.responded_at, respond_by=urge.respond_by, now=now)
    return "overdue" if overdue else "awaiting"
