"""The SQL of the dashboard overviews (tracker.reporting.overview), shared by a full build and a patch
(tracker.reporting.overview_patch): the chain of CTEs from the unit tree and the rollups to ranked rows,
and the JSON each row and the totals are written as.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from tracker.assessment.models import Cycle
from tracker.monitoring.rollup_models import RoundKind
from tracker.monitoring.rollup_reads import readable_counts_sql, school_counts_sql
from tracker.org.tree import SCHOOL, subtree_cte

from .rules import COUNT_FIELDS, RATES, rates_sql

RATE_FIELDS = tuple(name for name, _, _ in RATES)
TOTAL_FIELDS = ("schools", *COUNT_FIELDS, *RATE_FIELDS, "extensions", "flagged_schools")
# The counts the totals sum over the schools (the rates divide them), in this order wherever they travel.
SUM_FIELDS = (*COUNT_FIELDS, "due_passed", "on_time", "original_due_passed", "on_time_original", "extensions")
# The totals from one row `sums` of SUM_FIELDS (NUMERIC, as SUM gives them), `schools` and `flagged_schools`.
TOTALS_CTE = f"""totals AS (
    SELECT schools, {", ".join(f"CAST(COALESCE({name}, 0) AS BIGINT) AS {name}" for name in COUNT_FIELDS)},
           {rates_sql()}, CAST(COALESCE(extensions, 0) AS BIGINT) AS extensions, flagged_schools
    FROM sums
)"""
_SUMS = ", ".join(f"SUM({name}) AS {name}" for name in SUM_FIELDS)
TOTALS_JSON = "CAST(json_build_object(" + ", ".join(f"'{name}', {name}" for name in TOTAL_FIELDS) + ") AS TEXT)"


def _school_counts_sql(*, cycle: Cycle, now: datetime, only_tree: bool) -> tuple[str, list[Any]]:
    """The per-school counts of the cycle as of `now`, read from the rollups (CONTRACT section 10)."""
    return school_counts_sql(kind=RoundKind.CYCLE, round_id=cycle.pk, now=now, only_tree=only_tree)


@contextmanager
def local_times() -> Iterator[None]:
    """PostgreSQL: the local time zone for the statements of this block, and room to sort in memory.

    PostgreSQL then writes times in JSON as the API does (+08:00). Only for statements that return JSON
    text: Django reads timestamptz values as if the session were in UTC. The ordered string_agg of
    12,000 rows (several MiB of JSON) spilled to disk under the default 4 MB of work_mem; 64 MB keeps it
    in memory. The settings are transaction-local and restored afterwards (the block may run inside a
    caller's transaction).
    (JIT is off for every connection, config/settings/base.py: compiling these plans took seconds for
    statements that run in well under one, docs/benchmarks.md.)
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('TimeZone'), current_setting('work_mem'), set_config('TimeZone', %s, true), "
            "set_config('work_mem', '64MB', true)",
            [settings.TIME_ZONE],
        )
        previous_zone, previous_work_mem = cursor.fetchone()[:2]
        yield
        cursor.execute(
            "SELECT set_config('TimeZone', %s, true), set_config('work_mem', %s, true)",
            [previous_zone, previous_work_mem],
        )


# --- Overview and rollups --------------------------------------------------------------------------------
# The shared chain. `tree` maps every unit under the seed to a top unit (the row it rolls up into);
# `school_rows` holds one row per school with its counts; `totals` sums them.
OVERVIEW_CTES = f"""
WITH RECURSIVE {{tree}},
agg AS ({{agg}}),
criteria_total AS (
    SELECT COUNT(*) AS n, COALESCE(SUM(max_score), 0) AS max_score FROM tracker_criterion WHERE cycle_id = %s
),
school_rows AS (
    SELECT s.id, s.name, tree.top_id,
           COALESCE(a.tasks, 0) AS tasks, COALESCE(a.approved, 0) AS approved,
           COALESCE(a.submitted, 0) AS submitted, COALESCE(a.in_progress, 0) AS in_progress,
           COALESCE(a.not_started, 0) AS not_started, COALESCE(a.returned, 0) AS returned,
           COALESCE(a.overdue, 0) AS overdue, COALESCE(a.due_passed, 0) AS due_passed,
           COALESCE(a.on_time, 0) AS on_time, COALESCE(a.original_due_passed, 0) AS original_due_passed,
           COALESCE(a.on_time_original, 0) AS on_time_original, COALESCE(a.at_risk, 0) AS at_risk,
           COALESCE(a.extensions, 0) AS extensions, COALESCE(a.score, 0) AS score,
           -- One task per school x criterion: a school with as many tasks as the cycle has criteria has
           -- them all; only the others (added after activation) need their criteria summed one by one.
           CASE WHEN a.tasks IS NULL THEN 0
                WHEN a.tasks = ct.n THEN ct.max_score
                ELSE (SELECT SUM(c.max_score) FROM tracker_task t JOIN tracker_criterion c ON c.id = t.criterion_id
                      WHERE t.cycle_id = %s AND t.school_id = s.id)
           END AS max_score,
           f.severity AS flag, a.last_activity_at
    FROM tree
    JOIN tracker_unit s ON s.id = tree.id AND s.kind = '{SCHOOL}'
    CROSS JOIN criteria_total ct
    LEFT JOIN agg a ON a.school_id = s.id
    LEFT JOIN tracker_flag f ON f.cycle_id = %s AND f.school_id = s.id AND f.resolved_at IS NULL
),
sums AS (
    SELECT COUNT(*) AS schools, {_SUMS}, COUNT(flag) AS flagged_schools FROM school_rows
),
{TOTALS_CTE}"""

# Flat: one ranked row per school.
FLAT_RANKED = f""",
rated AS (
    SELECT id, name, tasks, approved, submitted, in_progress, not_started, returned, overdue, at_risk,
           {rates_sql()},
           extensions, score, max_score, flag, last_activity_at,
           due_passed, on_time, original_due_passed, on_time_original
    FROM school_rows
),
ranked AS (
    SELECT rated.*, RANK() OVER (ORDER BY score DESC, on_time_rate DESC NULLS LAST) AS rank FROM rated
)"""

# Rollup: one ranked row per child of the unit, every school below it summed into it.
ROLLUP_RANKED = f""",
unit_rows AS (
    SELECT top_id, COUNT(*) AS schools,
           SUM(tasks) AS tasks, SUM(approved) AS approved, SUM(submitted) AS submitted,
           SUM(in_progress) AS in_progress, SUM(not_started) AS not_started, SUM(returned) AS returned,
           SUM(overdue) AS overdue, SUM(due_passed) AS due_passed, SUM(on_time) AS on_time,
           SUM(original_due_passed) AS original_due_passed, SUM(on_time_original) AS on_time_original,
           SUM(at_risk) AS at_risk, SUM(extensions) AS extensions,
           AVG(score) AS score, AVG(max_score) AS max_score, COUNT(flag) AS flagged_schools,
           MAX(CASE flag WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 END) AS flag_level,
           MAX(last_activity_at) AS last_activity_at
    FROM school_rows GROUP BY top_id
),
rated AS (
    SELECT c.id, c.name, c.kind, COALESCE(r.schools, 0) AS schools,
           CAST(COALESCE(r.tasks, 0) AS BIGINT) AS tasks, CAST(COALESCE(r.approved, 0) AS BIGINT) AS approved,
           CAST(COALESCE(r.submitted, 0) AS BIGINT) AS submitted,
           CAST(COALESCE(r.in_progress, 0) AS BIGINT) AS in_progress,
           CAST(COALESCE(r.not_started, 0) AS BIGINT) AS not_started,
           CAST(COALESCE(r.returned, 0) AS BIGINT) AS returned, CAST(COALESCE(r.overdue, 0) AS BIGINT) AS overdue,
           CAST(COALESCE(r.at_risk, 0) AS BIGINT) AS at_risk,
           {rates_sql("r.{}")},
           CAST(COALESCE(r.extensions, 0) AS BIGINT) AS extensions,
           ROUND(r.score, 2) AS score, ROUND(r.max_score, 2) AS max_score,
           CASE r.flag_level WHEN 2 THEN 'critical' WHEN 1 THEN 'warning' END AS flag,
           COALESCE(r.flagged_schools, 0) AS flagged_schools, r.last_activity_at
    FROM tracker_unit c LEFT JOIN unit_rows r ON r.top_id = c.id
    WHERE c.parent_id = %s
),
ranked AS (
    SELECT rated.*, RANK() OVER (ORDER BY score DESC NULLS LAST, on_time_rate DESC NULLS LAST) AS rank
    FROM rated
)"""


NUMBER, TEXT = "number", "text"
# (key, SQL, JSON type) of a row's fields after its "school" / "unit" reference, in the order of the JSON.
_ROW_FIELDS = (
    *((name, name, NUMBER) for name in COUNT_FIELDS),
    *((name, name, NUMBER) for name in RATE_FIELDS),
    ("extensions", "extensions", NUMBER),
    ("score", "CAST(score AS DOUBLE PRECISION)", NUMBER),
    ("max_score", "CAST(max_score AS DOUBLE PRECISION)", NUMBER),
    ("rank", "rank", NUMBER),
    ("flag", "flag", TEXT),
)
_SCHOOL_REF = (("id", "id", NUMBER), ("name", "name", TEXT))
_UNIT_REF = (("id", "id", NUMBER), ("name", "name", TEXT), ("kind", "kind", TEXT))


@dataclass(frozen=True)
class Shape:
    ref_key: str  # "school" or "unit"
    ref: tuple[tuple[str, str, str], ...]
    fields: tuple[tuple[str, str, str], ...]


FLAT_SHAPE = Shape("school", _SCHOOL_REF, (*_ROW_FIELDS, ("last_activity_at", "last_activity_at", TEXT)))
ROLLUP_SHAPE = Shape(
    "unit",
    _UNIT_REF,
    (
        ("schools", "schools", NUMBER),
        *_ROW_FIELDS,
        ("flagged_schools", "flagged_schools", NUMBER),
        ("last_activity_at", "last_activity_at", TEXT),
    ),
)


def json_value(sql: str, kind: str) -> str:
    """SQL for the JSON text of a value: numbers as PostgreSQL prints them, the rest through to_json."""
    text = f"CAST({sql} AS TEXT)" if kind == NUMBER else f"CAST(to_json({sql}) AS TEXT)"
    return f"COALESCE({text}, 'null')"


def json_select(shape: Shape) -> str:
    """PostgreSQL: the totals and the ordered rows as JSON text.

    The rows are written with format() and string_agg rather than json_build_object/json_agg: the same
    JSON (keys are fixed, every value goes through to_json or a number's text form), for about half
    the cost at 12,000 rows. tests/tracker/reporting/test_dashboards.py checks it against the rows shaped in
    Python, value by value.
    """
    ref = ",".join(f'"{key}":%%s' for key, _, _ in shape.ref)
    fields = ",".join(f'"{key}":%%s' for key, _, _ in shape.fields)
    template = f'{{"{shape.ref_key}":{{{ref}}},{fields}}}'
    args = ", ".join(json_value(sql, kind) for _, sql, kind in (*shape.ref, *shape.fields))
    return (
        f"SELECT (SELECT {TOTALS_JSON} FROM totals), "
        f"(SELECT '[' || COALESCE(string_agg(format('{template}', {args}), ',' ORDER BY rank, name, id), '') || ']' "
        "FROM ranked)"
    )


def rows_select(shape: Shape) -> str:
    """The same content as plain rows: the totals first, then the ranked rows in order."""
    ref = [sql for _, sql, _ in shape.ref]
    fields = [sql for _, sql, _ in shape.fields]
    nulls = ", ".join(["NULL"] * (len(ref) + len(fields)))
    totals = ", ".join(TOTAL_FIELDS)
    return (
        f"SELECT 1 AS is_total, 0 AS o_rank, '' AS o_name, 0 AS o_id, {totals}, {nulls} FROM totals "
        f"UNION ALL SELECT 0, rank, name, id, {', '.join(['NULL'] * len(TOTAL_FIELDS))}, "
        f"{', '.join([*ref, *fields])} FROM ranked "
        "ORDER BY is_total DESC, o_rank, o_name, o_id"
    )


def chain(
    *,
    cycle: Cycle,
    now: datetime,
    seed: str,
    seed_params: list[Any],
    only_tree: bool,
    walk: bool = True,
    readable: bool | None = None,
) -> tuple[str, list]:
    """The CTEs over the units of `seed` and (`walk`) every unit under them. `readable` (not None): the
    caller knows the rollups readable and checks it in the same statement; False also that no school is
    dirty (tracker.monitoring.rollup_reads.readable_counts_sql)."""
    if readable is not None:
        agg_sql, agg_params = readable_counts_sql(kind=RoundKind.CYCLE, round_id=cycle.pk, now=now, dirty=readable)
    else:
        agg_sql, agg_params = _school_counts_sql(cycle=cycle, now=now, only_tree=only_tree)
    tree = subtree_cte(seed) if walk else f"tree(id, top_id) AS ({seed})"
    sql = OVERVIEW_CTES.format(tree=tree, agg=agg_sql)
    return sql, [*seed_params, *agg_params, cycle.pk, cycle.pk, cycle.pk]
