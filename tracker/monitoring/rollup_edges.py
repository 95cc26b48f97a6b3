"""The deadline buckets of the rollups (RollupEdge): when each time-dependent count of a task changes.

A task's time-dependent facts (tracker.monitoring.counts) change only when `now` passes one of three
moments:

* its due time: due passed (+1), on time (+1 if its latest submission was in time), overdue (+1 if open),
  at risk (-1 if it was at risk up to its due time);
* its original due time: original due passed (+1), on time against it (+1);
* the moment it becomes at risk (open, in the early-warning window, and behind the curve or stagnant):
  at risk (+1). Every part of that rule only turns on as time passes, so it holds on one interval
  that ends at the due time: [risk_from, due_at], with
  risk_from = max(due_at - days, min(behind_from, stagnant_from)).

An edge at `at` counts for `at < now` (overdue: `due_at < now`); an inclusive start (at risk from
`risk_from`) is an edge one microsecond earlier. The moment "behind the curve" begins is where
BehindCurve flips: on PostgreSQL, exact microseconds: (progress + margin) * window < 100 * elapsed;
on SQLite, the same in whole seconds (strftime('%s')), as its SQL compares them. PostgreSQL computes
the edges in one INSERT ... SELECT; SQLite (the demo) in Python. tests/tracker/monitoring/test_rollups.py
holds them equal to the counts at every moment around each edge. The same edges are kept per school and
per criterion x block (tracker.monitoring.rollup_grains).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from tracker.assessment.models import Task
from tracker.assessment.rules import is_open, open_q
from tracker.sql import where_sql

from .rollup_grains import Grain
from .rollup_models import TIME_COUNTS
from .rules import EarlyWarning

US = timedelta(microseconds=1)
_EDGE_COLUMNS = ", ".join(TIME_COUNTS)


def _edge_select_pg(
    grain: Grain, *, kind: int, round_id: int, school_ids: Sequence[int] | None
) -> tuple[str, list[Any]]:
    warning = EarlyWarning.from_settings()
    open_sql, open_params = where_sql(Task, open_q(), alias="t")
    column = "cycle_id" if kind == 1 else "campaign_id"
    schools = "AND t.school_id = ANY(%s)" if school_ids is not None else ""
    day = 86400
    keys = ", ".join(grain.keys)
    sql = f"""
    WITH t AS (
        SELECT {", ".join(f"{sql} AS {key}" for sql, key in zip(grain.key_sql, grain.keys, strict=True))},
               t.due_at, t.original_due_at, ({open_sql}) AS is_open,
               COALESCE(t.submitted_at <= t.submitted_due_at, FALSE) AS in_time,
               COALESCE(t.submitted_at <= t.original_due_at, FALSE) AS in_time_original,
               GREATEST(
                   t.due_at - %s * INTERVAL '1 second',
                   LEAST(
                       CASE WHEN t.due_at >= t.due_set_at THEN t.due_set_at + (FLOOR(
                           (t.progress + %s) * (EXTRACT(EPOCH FROM (t.due_at - t.due_set_at)) * 1000000) / 100
                       ) + 1) * INTERVAL '1 microsecond' END,
                       GREATEST(t.due_set_at, COALESCE(t.last_activity_at, t.due_set_at)) + %s * INTERVAL '1 second'
                   )
               ) AS risk_from
        FROM tracker_task t JOIN tracker_unit s ON s.id = t.school_id
        WHERE t.{column} = %s AND {grain.task_sql} {schools}
    ),
    e AS (
        SELECT {keys}, due_at AS at, CAST(is_open AS INTEGER) AS overdue, 1 AS due_passed,
               CAST(in_time AS INTEGER) AS on_time, 0 AS original_due_passed, 0 AS on_time_original,
               -CAST(is_open AND risk_from <= due_at AS INTEGER) AS at_risk
        FROM t
        UNION ALL
        SELECT {keys}, original_due_at, 0, 0, 0, 1, CAST(in_time_original AS INTEGER), 0 FROM t
        UNION ALL
        SELECT {keys}, risk_from - INTERVAL '1 microsecond', 0, 0, 0, 0, 0, 1 FROM t
        WHERE is_open AND risk_from <= due_at
    )
    SELECT {keys}, at, {", ".join(f"SUM({c})" for c in TIME_COUNTS)} FROM e GROUP BY {keys}, at"""
    params: list[Any] = [*open_params, warning.days * day, warning.margin, warning.stagnation_days * day, round_id]
    if school_ids is not None:
        params.append(list(school_ids))
    return sql, params


def _epoch_seconds(value: datetime) -> int:
    return int((value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1))


def _behind_from(
    *, progress: int, due_at: datetime, due_set_at: datetime, margin: int, sqlite: bool
) -> datetime | None:
    """The first moment BehindCurve holds (due_set_at < now included); None when it never does in the window."""
    if due_at < due_set_at:
        return None
    if sqlite:  # whole seconds: (p + m) * (s(due) - s(set)) < 100 * (s(now) - s(set))
        anchor = _epoch_seconds(due_set_at)
        first = anchor + (progress + margin) * (_epoch_seconds(due_at) - anchor) // 100 + 1
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=first)
    window = (due_at - due_set_at) // US
    return due_set_at + ((progress + margin) * window // 100 + 1) * US


def task_edges(task: dict[str, Any], warning: EarlyWarning, *, sqlite: bool) -> list[tuple[datetime, dict[str, int]]]:
    """The edges of one task (a dict of its columns), as (at, {count: delta})."""
    open_ = is_open(task["status"])
    submitted = task["submitted_at"]
    due = task["due_at"]
    edges = [
        (
            due,
            {
                "overdue": int(open_),
                "due_passed": 1,
                "on_time": int(submitted is not None and submitted <= task["submitted_due_at"]),
            },
        ),
        (
            task["original_due_at"],
            {
                "original_due_passed": 1,
                "on_time_original": int(submitted is not None and submitted <= task["original_due_at"]),
            },
        ),
    ]
    if open_:
        behind = _behind_from(
            progress=task["progress"], due_at=due, due_set_at=task["due_set_at"], margin=warning.margin, sqlite=sqlite
        )
        quiet = max(task["due_set_at"], task["last_activity_at"] or task["due_set_at"])
        stagnant = quiet + timedelta(days=warning.stagnation_days)
        risk_from = max(due - timedelta(days=warning.days), min(stagnant, behind) if behind else stagnant)
        if risk_from <= due:
            edges.append((risk_from - US, {"at_risk": 1}))
            edges[0][1]["at_risk"] = -1
    return edges


_TASK_FIELDS = (
    "status",
    "due_at",
    "original_due_at",
    "due_set_at",
    "progress",
    "last_activity_at",
    "submitted_at",
    "submitted_due_at",
)


def _edges_python(grain: Grain, *, kind: int, round_id: int, school_ids: Sequence[int] | None) -> list[tuple]:
    warning = EarlyWarning.from_settings()
    tasks = Task.objects.filter(grain.task_q, **{"cycle_id" if kind == 1 else "campaign_id": round_id})
    if school_ids is not None:
        tasks = tasks.filter(school_id__in=school_ids)
    sums: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TIME_COUNTS, 0))
    fields = dict.fromkeys((*grain.task_fields, *_TASK_FIELDS))
    for task in tasks.values(*fields).order_by().iterator(chunk_size=2000):
        key = grain.key_of(task)
        for at, deltas in task_edges(task, warning, sqlite=connection.vendor == "sqlite"):
            bucket = sums[(*key, at)]
            for name, delta in deltas.items():
                bucket[name] += delta
    return [(*key, *(counts[c] for c in TIME_COUNTS)) for key, counts in sums.items()]


def edges_expected(grain: Grain, *, kind: int, round_id: int, school_ids: Sequence[int] | None = None) -> list[tuple]:
    """(*grain.keys, at, *TIME_COUNTS deltas) of the round's tasks, computed from them now."""
    if connection.vendor == "postgresql":
        sql, params = _edge_select_pg(grain, kind=kind, round_id=round_id, school_ids=school_ids)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]
    return _edges_python(grain, kind=kind, round_id=round_id, school_ids=school_ids)


def edges_write(grain: Grain, *, kind: int, round_id: int, school_ids: Sequence[int] | None) -> None:
    """Insert the edges of the round's tasks (of `school_ids`, or all); the old ones are already deleted."""
    keys = ", ".join(grain.keys)
    if connection.vendor == "postgresql":
        sql, params = _edge_select_pg(grain, kind=kind, round_id=round_id, school_ids=school_ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {grain.edges_table} (round_kind, round_id, {keys}, at, {_EDGE_COLUMNS}) "
                f"SELECT %s, %s, x.* FROM ({sql}) x",
                [kind, round_id, *params],
            )
        return
    rows = _edges_python(grain, kind=kind, round_id=round_id, school_ids=school_ids)
    n = len(grain.keys)
    grain.edges.objects.bulk_create(
        (
            grain.edges(
                round_kind=kind,
                round_id=round_id,
                **dict(zip(grain.keys, row[:n], strict=True)),
                at=row[n],
                **dict(zip(TIME_COUNTS, row[n + 1 :], strict=True)),
            )
            for row in rows
        ),
        batch_size=500,
    )
