"""Dashboard overviews: one row per school, or one per child unit with its schools rolled up.

Everything is computed in the database, in a number of queries that does not depend on how many
schools or tasks there are:

* the per-school counts are one ``GROUP BY`` over the cycle's tasks with conditional aggregates
  (``COUNT(id) FILTER (WHERE ...)``), built with the ORM so that "overdue" is the one definition in
  ``tracker.assessment.rules.overdue_q``;
* the schools under a unit come from the one ``WITH RECURSIVE`` walk of the unit tree
  (``tracker.org.tree.subtree_cte``), which also maps every school to the child of the unit it sits
  under (for rollups), whatever the depth;
* the rank is a window function: ``RANK() OVER (ORDER BY score DESC, on_time_rate DESC NULLS LAST)``.
  Schools with the same score and on-time rate share a rank (1, 2, 2, 4); rows are listed by rank,
  then name;
* on PostgreSQL the rows leave the database as one JSON text, which the API sends as it is: shaping
  12,000 rows in Python would cost more than computing them. Elsewhere (the SQLite demo) the same
  statement ends in plain rows, shaped here into the same document (a test holds the two equal);
* access is decided by ``tracker.scope.dashboard_access`` (the roots the caller sees);
* the per-school counts are read from the rollup tables (``tracker.monitoring.rollup_reads``), never by
  scanning the cycle's tasks, and on PostgreSQL a built document is kept and served again while its
  token (``tracker.reporting.overview_cache``: rows, flags, criteria, units, no deadline passed) holds.

Counts and rates: ``tracker.reporting.rules`` (with section 7's ``at_risk`` count, ``extensions`` sum and
``on_time_original_rate`` beside ``on_time_rate``). A school's ``score`` is the sum of its task scores
(unscored tasks count 0); ``max_score`` the sum of its criteria's ``max_score``. A rollup row sums
the counts of the schools under it, computes its rates over the summed counts, and reports the mean
school ``score`` (and ``max_score``). ``last_activity_at`` is the time of the latest thing that
happened to one of the school's tasks in the cycle (task transitions, evidence uploads and deletions):
the latest ``Task.last_activity_at``, which the services stamp, taken in the same ``GROUP BY`` as the
counts; a rollup row has the latest of its schools'.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracker.assessment.models import Cycle
from tracker.monitoring.rollup_models import RoundKind
from tracker.monitoring.rollup_reads import school_counts_sql
from tracker.org.models import Unit
from tracker.org.tree import SCHOOL, placeholders, subtree_cte

from . import overview_cache
from .rules import COUNT_FIELDS, RATES, rates_sql


def _school_counts_sql(*, cycle: Cycle, now: datetime, only_tree: bool) -> tuple[str, list[Any]]:
    """The per-school counts of the cycle as of `now`, read from the rollups (CONTRACT section 10)."""
    return school_counts_sql(kind=RoundKind.CYCLE, round_id=cycle.pk, now=now, only_tree=only_tree)


@contextmanager
def _local_times() -> Iterator[None]:
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
_OVERVIEW_CTES = f"""
WITH RECURSIVE {subtree_cte("{seed}")},
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
totals AS (
    SELECT COUNT(*) AS schools,
           CAST(COALESCE(SUM(tasks), 0) AS BIGINT) AS tasks, CAST(COALESCE(SUM(approved), 0) AS BIGINT) AS approved,
           CAST(COALESCE(SUM(submitted), 0) AS BIGINT) AS submitted,
           CAST(COALESCE(SUM(in_progress), 0) AS BIGINT) AS in_progress,
           CAST(COALESCE(SUM(not_started), 0) AS BIGINT) AS not_started,
           CAST(COALESCE(SUM(returned), 0) AS BIGINT) AS returned, CAST(COALESCE(SUM(overdue), 0) AS BIGINT) AS overdue,
           CAST(COALESCE(SUM(at_risk), 0) AS BIGINT) AS at_risk,
           {rates_sql("SUM({})")},
           CAST(COALESCE(SUM(extensions), 0) AS BIGINT) AS extensions,
           COUNT(flag) AS flagged_schools
    FROM school_rows
)"""

# Flat: one ranked row per school.
_FLAT_RANKED = f""",
rated AS (
    SELECT id, name, tasks, approved, submitted, in_progress, not_started, returned, overdue, at_risk,
           {rates_sql()},
           extensions, score, max_score, flag, last_activity_at
    FROM school_rows
),
ranked AS (
    SELECT rated.*, RANK() OVER (ORDER BY score DESC, on_time_rate DESC NULLS LAST) AS rank FROM rated
)"""

# Rollup: one ranked row per child of the unit, every school below it summed into it.
_ROLLUP_RANKED = f""",
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


RATE_FIELDS = tuple(name for name, _, _ in RATES)
TOTAL_FIELDS = ("schools", *COUNT_FIELDS, *RATE_FIELDS, "extensions", "flagged_schools")
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
class _Shape:
    ref_key: str  # "school" or "unit"
    ref: tuple[tuple[str, str, str], ...]
    fields: tuple[tuple[str, str, str], ...]


_FLAT_SHAPE = _Shape("school", _SCHOOL_REF, (*_ROW_FIELDS, ("last_activity_at", "last_activity_at", TEXT)))
_ROLLUP_SHAPE = _Shape(
    "unit",
    _UNIT_REF,
    (
        ("schools", "schools", NUMBER),
        *_ROW_FIELDS,
        ("flagged_schools", "flagged_schools", NUMBER),
        ("last_activity_at", "last_activity_at", TEXT),
    ),
)


def _json_value(sql: str, kind: str) -> str:
    """SQL for the JSON text of a value: numbers as PostgreSQL prints them, the rest through to_json."""
    text = f"CAST({sql} AS TEXT)" if kind == NUMBER else f"CAST(to_json({sql}) AS TEXT)"
    return f"COALESCE({text}, 'null')"


def _json_select(shape: _Shape) -> str:
    """PostgreSQL: the totals and the ordered rows as JSON text.

    The rows are written with format() and string_agg rather than json_build_object/json_agg: the same
    JSON (keys are fixed, every value goes through to_json or a number's text form), for about half
    the cost at 12,000 rows. tests/tracker/reporting/test_dashboards.py checks it against the rows shaped in
    Python, value by value.
    """
    ref = ",".join(f'"{key}":%%s' for key, _, _ in shape.ref)
    fields = ",".join(f'"{key}":%%s' for key, _, _ in shape.fields)
    template = f'{{"{shape.ref_key}":{{{ref}}},{fields}}}'
    args = ", ".join(_json_value(sql, kind) for _, sql, kind in (*shape.ref, *shape.fields))
    totals = "json_build_object(" + ", ".join(f"'{name}', {name}" for name in TOTAL_FIELDS) + ")"
    return (
        f"SELECT (SELECT CAST({totals} AS TEXT) FROM totals), "
        f"(SELECT '[' || COALESCE(string_agg(format('{template}', {args}), ',' ORDER BY rank, name, id), '') || ']' "
        "FROM ranked)"
    )


def _rows_select(shape: _Shape) -> str:
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


def iso_local(value: datetime | str | None) -> str | None:
    """A time as the JSON path renders it: ISO 8601 in the local zone."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text, in UTC
        value = parse_datetime(value)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
    return timezone.localtime(value).isoformat()


def _shape_rows(records: list[tuple], shape: _Shape) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    n_totals, n_ref = len(TOTAL_FIELDS), len(shape.ref)
    totals: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for record in records:
        values = record[4:]
        if record[0]:
            totals = dict(zip(TOTAL_FIELDS, values[:n_totals], strict=True))
            continue
        ref = dict(zip((key for key, _, _ in shape.ref), values[n_totals : n_totals + n_ref], strict=True))
        row: dict[str, Any] = {shape.ref_key: ref}
        row.update(zip((key for key, _, _ in shape.fields), values[n_totals + n_ref :], strict=True))
        for key in ("score", "max_score"):
            row[key] = float(row[key]) if row[key] is not None else None
        row["last_activity_at"] = iso_local(row["last_activity_at"])
        rows.append(row)
    return totals, rows


@dataclass(frozen=True)
class Overview:
    """Totals and rows, keyed "school" (per school) or "unit" (per child unit, rolled up).

    Held as the JSON text the database built (PostgreSQL) or as Python objects (elsewhere); each form
    is derived from the other on demand.
    """

    cycle: Cycle
    generated_at: datetime
    unit: Unit | None
    _totals: dict[str, Any] | None = field(default=None, repr=False)
    _rows: list[dict[str, Any]] | None = field(default=None, repr=False)
    _totals_json: str | None = field(default=None, repr=False)
    _rows_json: str | None = field(default=None, repr=False)

    @property
    def rolled_up(self) -> bool:
        return self.unit is not None

    @cached_property
    def totals(self) -> dict[str, Any]:
        return self._totals if self._totals is not None else orjson.loads(self._totals_json or "{}")

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        return self._rows if self._rows is not None else orjson.loads(self._rows_json or "[]")

    @cached_property
    def totals_json(self) -> str:
        return self._totals_json if self._totals_json is not None else orjson.dumps(self._totals).decode()

    @cached_property
    def rows_json(self) -> str:
        return self._rows_json if self._rows_json is not None else orjson.dumps(self._rows).decode()


def _overview(
    *,
    cycle: Cycle,
    now: datetime,
    unit: Unit | None,
    roots: Sequence[int] = (),
    ctes: str,
    params: list[Any],
    as_json: bool | None,
) -> Overview:
    shape = _ROLLUP_SHAPE if unit is not None else _FLAT_SHAPE
    if as_json is None:
        as_json = connection.vendor == "postgresql"
    if as_json:
        # The document as built for an earlier request, when nothing it was built from has changed.
        key = overview_cache.cache_key(cycle_id=cycle.pk, unit_id=unit.pk if unit else None, roots=roots)
        kept = overview_cache.cached(key=key, cycle_id=cycle.pk, now=now)
        if kept is not None:
            return Overview(cycle, now, unit, _totals_json=kept[0], _rows_json=kept[1])
        token, token_params = overview_cache.token_sql(cycle.pk)
        sql, params = f"{ctes}\n{_json_select(shape)}, {token}", [*params, *token_params]
    else:
        sql = ctes + "\n" + _rows_select(shape)
    with _local_times() if as_json else nullcontext(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        records = cursor.fetchall()
    if as_json:
        totals_json, rows_json, token = records[0]
        overview_cache.keep(key=key, token=token, now=now, totals_json=totals_json, rows_json=rows_json)
        return Overview(cycle, now, unit, _totals_json=totals_json, _rows_json=rows_json)
    totals, rows = _shape_rows(records, shape)
    return Overview(cycle, now, unit, _totals=totals, _rows=rows)


def _chain(*, cycle: Cycle, now: datetime, seed: str, seed_params: list[Any], only_tree: bool) -> tuple[str, list]:
    agg_sql, agg_params = _school_counts_sql(cycle=cycle, now=now, only_tree=only_tree)
    sql = _OVERVIEW_CTES.format(seed=seed, agg=agg_sql)
    return sql, [*seed_params, *agg_params, cycle.pk, cycle.pk, cycle.pk]


def overview_schools(*, cycle: Cycle, roots: Sequence[int], now: datetime, as_json: bool | None = None) -> Overview:
    """One row per school under `roots` (the cycle's authority, or the caller's part of it)."""
    roots = sorted(set(roots))
    # Every school maps to the same top (0): a school under two roots still counts once.
    seed = f"SELECT u.id, 0 FROM tracker_unit u WHERE u.id IN ({placeholders(roots)})"
    ctes, params = _chain(cycle=cycle, now=now, seed=seed, seed_params=roots, only_tree=roots != [cycle.authority_id])
    return _overview(
        cycle=cycle, now=now, unit=None, roots=roots, ctes=ctes + _FLAT_RANKED, params=params, as_json=as_json
    )


def overview_units(*, cycle: Cycle, unit: Unit, now: datetime, as_json: bool | None = None) -> Overview:
    """One row per child of `unit`: a school as itself, an authority with every school below it."""
    seed = "SELECT u.id, u.id FROM tracker_unit u WHERE u.parent_id = %s"
    ctes, params = _chain(
        cycle=cycle, now=now, seed=seed, seed_params=[unit.pk], only_tree=unit.pk != cycle.authority_id
    )
    return _overview(
        cycle=cycle, now=now, unit=unit, ctes=ctes + _ROLLUP_RANKED, params=[*params, unit.pk], as_json=as_json
    )
