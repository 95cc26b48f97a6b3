"""The daily snapshot of every school's counts, rates and score per cycle: the trend series.

One set-based statement per run: ``INSERT ... SELECT <one GROUP BY over the tasks> ON CONFLICT
(cycle, school, date) DO UPDATE``. Idempotent per day: a second run the same day finds the row of
the first and leaves one row per school per day.

Why DO UPDATE rather than DO NOTHING: the beat job runs late in the day (23:50), and a day's point
should be that day's latest state. A run repeated later the same day (a retry, a manual re-run after
an outage, a worker restarted mid-job) then corrects the point instead of freezing whatever the first
run saw, possibly in the morning. The update is skipped when nothing changed, so a repeat run writes
nothing. Past days are never touched: the date is always the local date of ``now``.
"""

from __future__ import annotations

from datetime import datetime, time

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from tracker.assessment.models import Cycle, CycleStatus, Task
from tracker.sql import rows_written

from .rules import task_count_aggregates

_COLUMNS = (
    "tasks",
    "approved",
    "submitted",
    "overdue",
    "due_passed",
    "on_time",
    "original_due_passed",
    "on_time_original",
    "score",
)

# Portable (PostgreSQL, SQLite >= 3.39). "WHERE true": SQLite needs a WHERE before ON CONFLICT in an
# INSERT ... SELECT, to tell the upsert clause from a join constraint.
_UPSERT_SQL = """
INSERT INTO tracker_dailysnapshot (cycle_id, school_id, date, {columns})
SELECT agg.cycle_id, agg.school_id, %s, {agg_columns}
FROM ({select}) AS agg
WHERE true
ON CONFLICT (cycle_id, school_id, date) DO UPDATE SET {updates}
WHERE {changed}
"""


def snapshot_cycles(*, now: datetime):
    """Active cycles, and cycles closed on the day of `now` (their final state is that day's point)."""
    start_of_day = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    return Cycle.objects.filter(
        Q(status=CycleStatus.ACTIVE) | Q(status=CycleStatus.CLOSED, closed_at__gte=start_of_day)
    )


def snapshots_take(*, now: datetime) -> int:
    """Record today's point for every school of every active cycle; returns rows written.

    "Today" is the local date of `now` (settings.TIME_ZONE). Overdue and on-time are judged at `now`.
    """
    aggregates = task_count_aggregates(now)
    select_qs = (
        Task.objects.filter(cycle__in=snapshot_cycles(now=now).values("pk"))
        .values("cycle_id", "school_id")
        .annotate(**{name: aggregates[name] for name in _COLUMNS})
        .order_by()
    )
    select_sql, select_params = select_qs.query.sql_with_params()
    sql = _UPSERT_SQL.format(
        columns=", ".join(_COLUMNS),
        agg_columns=", ".join(f"agg.{name}" for name in _COLUMNS),
        select=select_sql,
        updates=", ".join(f"{name} = excluded.{name}" for name in _COLUMNS),
        changed=" OR ".join(f"tracker_dailysnapshot.{name} IS DISTINCT FROM excluded.{name}" for name in _COLUMNS),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.localdate(now), *select_params])
        return rows_written(cursor)
