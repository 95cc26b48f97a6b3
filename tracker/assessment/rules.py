"""The rules judged on tasks, each defined once, for the database and for Python side by side.

The API, the dashboards, the flags and the reminder planner all use these (the planner compiles the
Q objects and expressions into its hand-written SQL through tracker.sql); tests hold each pair equal
on the same rows, boundary times included.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import DateTimeField, F, Func, IntegerField, Q, Value

from .models import Task, TaskStatus

DAY_SECONDS = 86400

# The statuses in which a task still waits on the school (CONTRACT: overdue, reminders).
OPEN_STATUSES = (TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS, TaskStatus.RETURNED)

# The dashboards' "due soon" list: open tasks due in the next UPCOMING_DAYS days. Not the reminders'
# due-soon stages (7 and 1 days before, settings.TRACKER["DUE_SOON_DAYS"], tracker.monitoring.rules).
UPCOMING_DAYS = 14


# --- Open ----------------------------------------------------------------------------------------------
def open_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}status__in": OPEN_STATUSES})


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


# --- Overdue: still owed by the school, and now past its due time ----------------------------------------
def overdue_q(now: datetime, prefix: str = "") -> Q:
    return open_q(prefix) & Q(**{f"{prefix}due_at__lt": now})


def is_overdue(*, status: str, due_at: datetime, now: datetime) -> bool:
    return is_open(status) and due_at < now


def task_is_overdue(task: Task, now: datetime) -> bool:
    return is_overdue(status=task.status, due_at=task.due_at, now=now)


# --- Days overdue: whole days from the due time to now, 0 before it ---------------------------------------
def days_overdue(now: datetime, due_at: datetime) -> int:
    return max(0, int((now - due_at).total_seconds() // DAY_SECONDS))


class DaysOverdue(Func):
    """days_overdue(now, <due column>) in SQL."""

    output_field = IntegerField()

    def __init__(self, now: datetime, due: str = "due_at") -> None:
        super().__init__(Value(now, output_field=DateTimeField()), F(due))

    def _parts(self, compiler: Any, connection: Any) -> tuple[str, str, list[Any]]:
        now_sql, now_params = compiler.compile(self.source_expressions[0])
        due_sql, due_params = compiler.compile(self.source_expressions[1])
        return now_sql, due_sql, [*now_params, *due_params]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        now_sql, due_sql, params = self._parts(compiler, connection)
        seconds = f"EXTRACT(EPOCH FROM (CAST({now_sql} AS TIMESTAMPTZ) - {due_sql}))"
        return f"CAST(GREATEST(0, FLOOR({seconds} / {DAY_SECONDS})) AS INTEGER)", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        now_sql, due_sql, params = self._parts(compiler, connection)
        seconds = f"(CAST(strftime('%%s', {now_sql}) AS INTEGER) - CAST(strftime('%%s', {due_sql}) AS INTEGER))"
        return f"MAX(0, {seconds} / {DAY_SECONDS})", params


def task_days_overdue(task: Task, now: datetime) -> int:
    """Days overdue of a task; 0 when it is not overdue (submitted, approved, or not yet due)."""
    return days_overdue(now, task.due_at) if task_is_overdue(task, now) else 0


# --- Upcoming: the dashboards' next UPCOMING_DAYS days ---------------------------------------------------
def upcoming_q(now: datetime, prefix: str = "") -> Q:
    return open_q(prefix) & Q(
        **{f"{prefix}due_at__gte": now, f"{prefix}due_at__lt": now + timedelta(days=UPCOMING_DAYS)}
    )


def is_upcoming(*, status: str, due_at: datetime, now: datetime) -> bool:
    return is_open(status) and now <= due_at < now + timedelta(days=UPCOMING_DAYS)


# --- Appeals: open for APPEAL_WINDOW_DAYS after approval (CONTRACT section 7) ------------------------------
def appeal_window_closes_at(reviewed_at: datetime) -> datetime:
    return reviewed_at + timedelta(days=int(settings.TRACKER["APPEAL_WINDOW_DAYS"]))


def is_appeal_window_open(*, status: str, reviewed_at: datetime | None, now: datetime) -> bool:
    """An approved task may be appealed until APPEAL_WINDOW_DAYS after its approval, that moment included."""
    return status == TaskStatus.APPROVED and reviewed_at is not None and now <= appeal_window_closes_at(reviewed_at)
