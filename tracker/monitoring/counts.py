"""The counts every report and the rollups share, as of `now` (CONTRACT sections 2 and 7).

Conditional aggregates over tasks: the status counts, overdue (tracker.assessment.rules.overdue_q),
due passed, on time (the latest submission at or before the due time then in force), the same against
the original due time, at risk (early warning, tracker.monitoring.rules.at_risk_q), extensions and
score. Here, under monitoring, so that the rollups (tracker.monitoring.rollups) count with the very
definitions the dashboards (tracker.reporting) read; tracker.reporting.rules adds the rates over them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from tracker.assessment.models import TaskStatus
from tracker.assessment.rules import overdue_q

from .rules import at_risk_q

COUNT_FIELDS = ("tasks", "approved", "submitted", "in_progress", "not_started", "returned", "overdue", "at_risk")


def due_passed_q(now: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}due_at__lt": now})


def submitted_in_time_q(prefix: str = "") -> Q:
    """The latest submission came at or before the due time then in force (also: a rectification closed
    on time, once approved)."""
    return Q(**{f"{prefix}submitted_at__lte": F(f"{prefix}submitted_due_at")})


def on_time_q(now: datetime, prefix: str = "") -> Q:
    return due_passed_q(now, prefix) & submitted_in_time_q(prefix)


def original_due_passed_q(now: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}original_due_at__lt": now})


def on_time_original_q(now: datetime, prefix: str = "") -> Q:
    return original_due_passed_q(now, prefix) & Q(**{f"{prefix}submitted_at__lte": F(f"{prefix}original_due_at")})


def task_count_aggregates(now: datetime, prefix: str = "") -> dict[str, Any]:
    """Conditional aggregates over tasks (reached through `prefix`, e.g. "tasks__") as of `now`."""
    counted = f"{prefix}pk"  # through a LEFT JOIN (prefix), only rows with a task count

    def status_is(status: str) -> Q:
        return Q(**{f"{prefix}status": status})

    return {
        "tasks": Count(counted),
        "approved": Count(counted, filter=status_is(TaskStatus.APPROVED)),
        "submitted": Count(counted, filter=status_is(TaskStatus.SUBMITTED)),
        "in_progress": Count(counted, filter=status_is(TaskStatus.IN_PROGRESS)),
        "not_started": Count(counted, filter=status_is(TaskStatus.NOT_STARTED)),
        "returned": Count(counted, filter=status_is(TaskStatus.RETURNED)),
        "overdue": Count(counted, filter=overdue_q(now, prefix)),
        "due_passed": Count(counted, filter=due_passed_q(now, prefix)),
        "on_time": Count(counted, filter=on_time_q(now, prefix)),
        "original_due_passed": Count(counted, filter=original_due_passed_q(now, prefix)),
        "on_time_original": Count(counted, filter=on_time_original_q(now, prefix)),
        "at_risk": Count(counted, filter=at_risk_q(now, prefix=prefix)),
        "extensions": Coalesce(Sum(f"{prefix}extensions"), Value(0)),
        "score": Coalesce(Sum(f"{prefix}score"), Value(Decimal("0"))),
    }
