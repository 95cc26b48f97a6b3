"""The counting and rate rules of every report (dashboards, criteria, one school, snapshots, trends).

Counts are conditional aggregates over tasks as of `now`; a rate is a count over another, None when
the whole is 0. `rate` (Python) and `rate_sql` (the SQL of the hand-written rollups) are the one
definition of a rate, and RATES says which counts each rate divides (CONTRACT sections 2 and 7):
completion_rate = approved / tasks; on_time_rate = on_time / due_passed, where due_passed counts the
tasks whose due time has passed and on_time those of them whose latest submission came at or before
the due time then in force; on_time_original_rate = on_time_original / original_due_passed, the same
judged against the original due time (which extensions never move). `at_risk` counts the tasks early
warning judges at risk (tracker.monitoring.rules); `extensions` sums the tasks' extensions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from tracker.assessment.models import TaskStatus
from tracker.assessment.rules import overdue_q
from tracker.monitoring.rules import at_risk_q

COUNT_FIELDS = ("tasks", "approved", "submitted", "in_progress", "not_started", "returned", "overdue", "at_risk")
# (rate, part, whole)
RATES = (
    ("completion_rate", "approved", "tasks"),
    ("on_time_rate", "on_time", "due_passed"),
    ("on_time_original_rate", "on_time_original", "original_due_passed"),
)


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


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    """Every rate of RATES over one row of counts."""
    return {name: rate(counts[part], counts[whole]) for name, part, whole in RATES}


def rate_sql(part: str, whole: str) -> str:
    """`rate` in SQL: a DOUBLE PRECISION quotient, NULL when the whole is 0."""
    return f"CAST({part} AS DOUBLE PRECISION) / NULLIF({whole}, 0)"


def rates_sql(column: str = "{}", *, named: bool = True) -> str:
    """Every rate of RATES in SQL, each count written through `column` (e.g. "SUM({})", "d.{}")."""
    return ", ".join(
        rate_sql(column.format(part), column.format(whole)) + (f" AS {name}" if named else "")
        for name, part, whole in RATES
    )
