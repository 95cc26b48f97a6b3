"""Dashboard reads: overview per school, rollups per child unit, criteria, one school, trends.

Everything is computed in the database, in a number of queries that does not depend on how many
schools or tasks there are:

* the per-school counts are one ``GROUP BY`` over the cycle's tasks with conditional aggregates
  (``COUNT(id) FILTER (WHERE ...)``), built with the ORM so that "overdue" is the one definition in
  ``tracker.selectors.overdue_q``;
* the schools under a unit come from one ``WITH RECURSIVE`` walk of the unit tree, which also maps
  every school to the child of the unit it sits under (for rollups), whatever the depth;
* the rank is a window function: ``RANK() OVER (ORDER BY score DESC, on_time_rate DESC NULLS LAST)``.
  Schools with the same score and on-time rate share a rank (1, 2, 2, 4); rows are listed by rank,
  then name;
* on PostgreSQL the rows leave the database as one JSON text, which the API sends as it is: shaping
  12,000 rows in Python would cost more than computing them. Elsewhere (the SQLite demo) the same
  statement ends in plain rows, shaped here into the same document (a test holds the two equal);
* access is decided by ``dashboard_access``: the answer of ``tracker.scope.cycles_visible`` for one
  cycle, in three queries (a test holds the two equal), plus the roots the caller sees as a
  supervisor or inspector.

Rules (CONTRACT section 2): ``completion_rate = approved / tasks``; ``on_time_rate`` = tasks whose
latest submission came at or before the due time then in force (``submitted_at <=
submitted_due_at``) among the tasks whose ``due_at`` has passed, over the tasks whose ``due_at``
has passed (``None`` when none has passed). A school's ``score`` is the sum of its task scores
(unscored tasks count 0); ``max_score`` the sum of its criteria's ``max_score``. A rollup row sums
the counts of the schools under it, computes its rates over the summed counts, and reports the mean
school ``score`` (and ``max_score``). ``last_activity_at`` is the time of the latest thing that
happened to one of the school's tasks in the cycle (task transitions, evidence uploads and deletions):
the latest ``Task.last_activity_at``, which the services stamp, taken in the same ``GROUP BY`` as the
counts; a rollup row has the latest of its schools'.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, F, FilteredRelation, Max, Q, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import (
    OPEN_STATUSES,
    Criterion,
    Cycle,
    Flag,
    Membership,
    Role,
    Task,
    TaskStatus,
    Unit,
    Urge,
)
from .selectors import overdue_q, task_days_overdue

AUTHORITY_ROLES = (Role.SUPERVISOR, Role.INSPECTOR)
DUE_SOON_DAYS = 14
COUNT_FIELDS = ("tasks", "approved", "submitted", "in_progress", "not_started", "returned", "overdue")


def _placeholders(ids: Sequence[int]) -> str:
    return ", ".join(["%s"] * len(ids))


# --- Who sees which schools -------------------------------------------------------------------------
def unit_ancestor_map(unit_ids: Iterable[int]) -> dict[int, set[int]]:
    """For each unit, itself and every unit above it: one recursive query, whatever the depth."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    sql = f"""
        WITH RECURSIVE up(start_id, id, parent_id) AS (
            SELECT u.id, u.id, u.parent_id FROM tracker_unit u WHERE u.id IN ({_placeholders(ids)})
          UNION
            SELECT up.start_id, u.id, u.parent_id FROM tracker_unit u JOIN up ON u.id = up.parent_id
        )
        SELECT start_id, id FROM up
    """
    found: dict[int, set[int]] = {i: set() for i in ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        for start_id, unit_id in cursor.fetchall():
            found[start_id].add(unit_id)
    return found


@dataclass(frozen=True)
class DashboardAccess:
    """What a caller may see of one cycle's dashboards.

    `cycle` is None when the cycle does not exist or lies outside the caller's scope (404). `roots`
    are the units whose schools the caller sees as a supervisor or inspector: the cycle's authority
    when the caller sits at or above it, else the caller's own authorities under it (a district
    supervisor in a province-wide cycle sees their district). Empty: no such role over the cycle (403).
    """

    cycle: Cycle | None
    roots: tuple[int, ...] = ()


def dashboard_access(*, user, cycle_id: int) -> DashboardAccess:
    """scope.cycles_visible(user).filter(pk=cycle_id), decided in three queries whatever the tree's size.

    cycles_visible lists every unit under the caller's authorities (12,000 ids for a province); this
    asks the same question of one cycle by walking up from the cycle's authority and the caller's units
    instead. tests/tracker/test_dashboards.py checks that both answer alike for every caller and cycle.
    """
    cycle = Cycle.objects.filter(pk=cycle_id).first()
    if cycle is None or not user.is_authenticated:
        return DashboardAccess(cycle=None)
    if user.is_superuser:
        return DashboardAccess(cycle=cycle, roots=(cycle.authority_id,))
    memberships = list(Membership.objects.filter(user=user).values_list("unit_id", "role"))
    own = {unit for unit, _ in memberships}
    authority_roots = {unit for unit, role in memberships if role in AUTHORITY_ROLES}
    ancestors = unit_ancestor_map(own | {cycle.authority_id})
    above_cycle = ancestors[cycle.authority_id]
    # Visible: the cycle's authority is one of the caller's units or above one (a school sees its
    # district's cycles), or it lies under a unit the caller holds as supervisor or inspector.
    if not (any(cycle.authority_id in ancestors[unit] for unit in own) or above_cycle & authority_roots):
        return DashboardAccess(cycle=None)
    if above_cycle & authority_roots:
        return DashboardAccess(cycle=cycle, roots=(cycle.authority_id,))
    below = {unit for unit in authority_roots if cycle.authority_id in ancestors[unit]}
    # A root nested under another root adds nothing.
    roots = tuple(sorted(unit for unit in below if not (ancestors[unit] - {unit}) & below))
    return DashboardAccess(cycle=cycle, roots=roots)


def unit_in_cycle(*, unit: Unit, cycle: Cycle) -> bool:
    """Whether `unit` is the cycle's authority or a unit under it."""
    return cycle.authority_id in unit_ancestor_map([unit.pk])[unit.pk]


# --- The counting rules, shared by the overview, the criteria view, one school and the snapshots ------
def task_count_aggregates(now: datetime, prefix: str = "") -> dict[str, Any]:
    """Conditional aggregates over tasks (reached through `prefix`, e.g. "tasks__") as of `now`."""
    counted = f"{prefix}pk"  # through a LEFT JOIN (prefix), only rows with a task count

    def status_is(status: str) -> Q:
        return Q(**{f"{prefix}status": status})

    passed = Q(**{f"{prefix}due_at__lt": now})
    on_time = passed & Q(**{f"{prefix}submitted_at__lte": F(f"{prefix}submitted_due_at")})
    return {
        "tasks": Count(counted),
        "approved": Count(counted, filter=status_is(TaskStatus.APPROVED)),
        "submitted": Count(counted, filter=status_is(TaskStatus.SUBMITTED)),
        "in_progress": Count(counted, filter=status_is(TaskStatus.IN_PROGRESS)),
        "not_started": Count(counted, filter=status_is(TaskStatus.NOT_STARTED)),
        "returned": Count(counted, filter=status_is(TaskStatus.RETURNED)),
        "overdue": Count(counted, filter=overdue_q(now, prefix)),
        "due_passed": Count(counted, filter=passed),
        "on_time": Count(counted, filter=on_time),
        "score": Coalesce(Sum(f"{prefix}score"), Value(Decimal("0"))),
    }


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _school_counts_sql(*, cycle: Cycle, now: datetime, only_tree: bool) -> tuple[str, list[Any]]:
    """One GROUP BY school over the cycle's tasks (optionally only the schools of the `tree` CTE).

    With the counts, the school's last activity: the latest of its tasks' `last_activity_at`.
    """
    qs = Task.objects.filter(cycle_id=cycle.pk)
    if only_tree:
        qs = qs.filter(school_id__in=RawSQL("SELECT id FROM tree", ()))
    qs = (
        qs.values("school_id")
        .annotate(**task_count_aggregates(now), last_activity_at=Max("last_activity_at"))
        .order_by()
    )
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


@contextmanager
def _local_times() -> Iterator[None]:
    """PostgreSQL: the local time zone for the statements of this block.

    PostgreSQL then writes times in JSON as the API does (+08:00). Only for statements that return JSON
    text: Django reads timestamptz values as if the session were in UTC. The setting is
    transaction-local and restored afterwards (the block may run inside a caller's transaction).
    (JIT is off for every connection, config/settings/base.py: compiling these plans took seconds for
    statements that run in well under one, docs/benchmarks.md.)
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)", [settings.TIME_ZONE])
        previous_zone = cursor.fetchone()[0]
        yield
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [previous_zone])


# --- Overview and rollups --------------------------------------------------------------------------------
# The shared chain. `tree` maps every unit under the seed to a top unit (the row it rolls up into);
# `school_rows` holds one row per school with its counts; `totals` sums them.
_OVERVIEW_CTES = """
WITH RECURSIVE tree(id, top_id) AS (
    {seed}
  UNION
    SELECT u.id, tree.top_id FROM tracker_unit u JOIN tree ON u.parent_id = tree.id
),
agg AS ({agg}),
criteria_total AS (
    SELECT COUNT(*) AS n, COALESCE(SUM(max_score), 0) AS max_score FROM tracker_criterion WHERE cycle_id = %s
),
school_rows AS (
    SELECT s.id, s.name, tree.top_id,
           COALESCE(a.tasks, 0) AS tasks, COALESCE(a.approved, 0) AS approved,
           COALESCE(a.submitted, 0) AS submitted, COALESCE(a.in_progress, 0) AS in_progress,
           COALESCE(a.not_started, 0) AS not_started, COALESCE(a.returned, 0) AS returned,
           COALESCE(a.overdue, 0) AS overdue, COALESCE(a.due_passed, 0) AS due_passed,
           COALESCE(a.on_time, 0) AS on_time, COALESCE(a.score, 0) AS score,
           -- One task per school x criterion: a school with as many tasks as the cycle has criteria has
           -- them all; only the others (added after activation) need their criteria summed one by one.
           CASE WHEN a.tasks IS NULL THEN 0
                WHEN a.tasks = ct.n THEN ct.max_score
                ELSE (SELECT SUM(c.max_score) FROM tracker_task t JOIN tracker_criterion c ON c.id = t.criterion_id
                      WHERE t.cycle_id = %s AND t.school_id = s.id)
           END AS max_score,
           f.severity AS flag, a.last_activity_at
    FROM tree
    JOIN tracker_unit s ON s.id = tree.id AND s.kind = 'school'
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
           CAST(SUM(approved) AS DOUBLE PRECISION) / NULLIF(SUM(tasks), 0) AS completion_rate,
           CAST(SUM(on_time) AS DOUBLE PRECISION) / NULLIF(SUM(due_passed), 0) AS on_time_rate,
           COUNT(flag) AS flagged_schools
    FROM school_rows
)"""

# Flat: one ranked row per school.
_FLAT_RANKED = """,
rated AS (
    SELECT id, name, tasks, approved, submitted, in_progress, not_started, returned, overdue,
           CAST(approved AS DOUBLE PRECISION) / NULLIF(tasks, 0) AS completion_rate,
           CAST(on_time AS DOUBLE PRECISION) / NULLIF(due_passed, 0) AS on_time_rate,
           score, max_score, flag, last_activity_at
    FROM school_rows
),
ranked AS (
    SELECT rated.*, RANK() OVER (ORDER BY score DESC, on_time_rate DESC NULLS LAST) AS rank FROM rated
)"""

# Rollup: one ranked row per child of the unit, every school below it summed into it.
_ROLLUP_RANKED = """,
unit_rows AS (
    SELECT top_id, COUNT(*) AS schools,
           SUM(tasks) AS tasks, SUM(approved) AS approved, SUM(submitted) AS submitted,
           SUM(in_progress) AS in_progress, SUM(not_started) AS not_started, SUM(returned) AS returned,
           SUM(overdue) AS overdue, SUM(due_passed) AS due_passed, SUM(on_time) AS on_time,
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
           CAST(r.approved AS DOUBLE PRECISION) / NULLIF(r.tasks, 0) AS completion_rate,
           CAST(r.on_time AS DOUBLE PRECISION) / NULLIF(r.due_passed, 0) AS on_time_rate,
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

TOTAL_FIELDS = ("schools", *COUNT_FIELDS, "completion_rate", "on_time_rate", "flagged_schools")
NUMBER, TEXT = "number", "text"
# (key, SQL, JSON type) of a row's fields after its "school" / "unit" reference, in the order of the JSON.
_ROW_FIELDS = (
    *((name, name, NUMBER) for name in COUNT_FIELDS),
    ("completion_rate", "completion_rate", NUMBER),
    ("on_time_rate", "on_time_rate", NUMBER),
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
    the cost at 12,000 rows. tests/tracker/test_dashboards.py checks it against the rows shaped in
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


def _iso_local(value: datetime | str | None) -> str | None:
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
        row["last_activity_at"] = _iso_local(row["last_activity_at"])
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
        return self._totals if self._totals is not None else json.loads(self._totals_json or "{}")

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        return self._rows if self._rows is not None else json.loads(self._rows_json or "[]")

    @cached_property
    def totals_json(self) -> str:
        return self._totals_json if self._totals_json is not None else json.dumps(self._totals)

    @cached_property
    def rows_json(self) -> str:
        return self._rows_json if self._rows_json is not None else json.dumps(self._rows, ensure_ascii=False)


def _overview(
    *, cycle: Cycle, now: datetime, unit: Unit | None, ctes: str, params: list[Any], as_json: bool | None
) -> Overview:
    shape = _ROLLUP_SHAPE if unit is not None else _FLAT_SHAPE
    if as_json is None:
        as_json = connection.vendor == "postgresql"
    sql = ctes + "\n" + (_json_select(shape) if as_json else _rows_select(shape))
    with _local_times() if as_json else nullcontext(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        records = cursor.fetchall()
    if as_json:
        totals_json, rows_json = records[0]
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
    seed = f"SELECT u.id, 0 FROM tracker_unit u WHERE u.id IN ({_placeholders(roots)})"
    ctes, params = _chain(cycle=cycle, now=now, seed=seed, seed_params=roots, only_tree=roots != [cycle.authority_id])
    return _overview(cycle=cycle, now=now, unit=None, ctes=ctes + _FLAT_RANKED, params=params, as_json=as_json)


def overview_units(*, cycle: Cycle, unit: Unit, now: datetime, as_json: bool | None = None) -> Overview:
    """One row per child of `unit`: a school as itself, an authority with every school below it."""
    seed = "SELECT u.id, u.id FROM tracker_unit u WHERE u.parent_id = %s"
    ctes, params = _chain(
        cycle=cycle, now=now, seed=seed, seed_params=[unit.pk], only_tree=unit.pk != cycle.authority_id
    )
    return _overview(
        cycle=cycle, now=now, unit=unit, ctes=ctes + _ROLLUP_RANKED, params=[*params, unit.pk], as_json=as_json
    )


# --- Criteria ------------------------------------------------------------------------------------------
def _schools_under_sql(roots: Sequence[int]) -> str:
    return f"""
        WITH RECURSIVE tree(id) AS (
            SELECT u.id FROM tracker_unit u WHERE u.id IN ({_placeholders(roots)})
          UNION
            SELECT u.id FROM tracker_unit u JOIN tree ON u.parent_id = tree.id
        )
        SELECT id FROM tree
    """


def criteria_overview(*, cycle: Cycle, roots: Sequence[int], now: datetime) -> list[dict[str, Any]]:
    """One row per criterion of the cycle, over the tasks of the schools under `roots`.

    `average_score` is the mean score of the scored (approved) tasks; None when none is scored yet.
    """
    roots = sorted(set(roots))
    condition = Q(tasks__cycle_id=cycle.pk)
    if roots != [cycle.authority_id]:
        condition &= Q(tasks__school_id__in=RawSQL(_schools_under_sql(roots), roots))
    aggregates = task_count_aggregates(now, prefix="scoped__")
    del aggregates["score"]
    # values(): the names of the aggregates ("tasks") would clash with the relations of Criterion.
    qs = (
        Criterion.objects.filter(cycle=cycle)
        .annotate(scoped=FilteredRelation("tasks", condition=condition))
        .values("pk", "code", "title", "category", "due_at", "max_score")
        .annotate(**{f"n_{name}": aggregate for name, aggregate in aggregates.items()}, mean=Avg("scoped__score"))
        .order_by("code", "pk")
    )
    records = list(qs)
    return [
        {
            "criterion": {"id": c["pk"], "code": c["code"], "title": c["title"]},
            "category": c["category"],
            "due_at": _iso_local(c["due_at"]),
            "max_score": float(c["max_score"]),
            **{name: c[f"n_{name}"] for name in COUNT_FIELDS},
            "completion_rate": rate(c["n_approved"], c["n_tasks"]),
            "on_time_rate": rate(c["n_on_time"], c["n_due_passed"]),
            "average_score": round(float(c["mean"]), 2) if c["mean"] is not None else None,
        }
        for c in records
    ]


# --- One school ----------------------------------------------------------------------------------------
def _task_brief(task: Task, now: datetime) -> dict[str, Any]:
    return {
        "id": task.pk,
        "criterion": {"id": task.criterion_id, "code": task.criterion.code, "title": task.criterion.title},
        "status": task.status,
        "due_at": _iso_local(task.due_at),
        "days_overdue": task_days_overdue(task, now),
    }


def school_overview(*, cycle: Cycle, school: Unit, now: datetime) -> dict[str, Any]:
    """One school in one cycle: counts by status, overdue tasks, tasks due soon, score, flag, urges."""
    tasks = Task.objects.filter(cycle=cycle, school=school)
    counts = tasks.aggregate(**task_count_aggregates(now), max_score=Sum("criterion__max_score"))
    overdue = tasks.filter(overdue_q(now)).select_related("criterion").order_by("due_at", "id")
    due_soon = (
        tasks.filter(status__in=OPEN_STATUSES, due_at__gte=now, due_at__lt=now + timedelta(days=DUE_SOON_DAYS))
        .select_related("criterion")
        .order_by("due_at", "id")
    )
    flag = Flag.objects.filter(cycle=cycle, school=school, resolved_at__isnull=True).first()
    urges = Urge.objects.filter(cycle=cycle, school=school, responded_at__isnull=True).order_by("respond_by", "id")
    return {
        "cycle": cycle.pk,
        "school": {"id": school.pk, "name": school.name},
        "generated_at": _iso_local(now),
        "counts": {name: counts[name] for name in COUNT_FIELDS},
        "completion_rate": rate(counts["approved"], counts["tasks"]),
        "on_time_rate": rate(counts["on_time"], counts["due_passed"]),
        "score": float(counts["score"]),
        "max_score": float(counts["max_score"] or 0),
        "flag": None
        if flag is None
        else {
            "id": flag.pk,
            "severity": flag.severity,
            "overdue_count": flag.overdue_count,
            "max_days_overdue": flag.max_days_overdue,
            "opened_at": _iso_local(flag.opened_at),
            "escalated_at": _iso_local(flag.escalated_at),
        },
        "urges": [
            {
                "id": urge.pk,
                "message": urge.message,
                "respond_by": _iso_local(urge.respond_by),
                "created_at": _iso_local(urge.created_at),
                "overdue": urge.respond_by < now,
            }
            for urge in urges
        ],
        "overdue_tasks": [_task_brief(task, now) for task in overdue],
        "due_soon": [_task_brief(task, now) for task in due_soon],
    }


# --- Trends --------------------------------------------------------------------------------------------
_TREND_FLAT_SQL = """
WITH RECURSIVE tree(id) AS (
    SELECT u.id FROM tracker_unit u WHERE u.id IN ({roots})
  UNION
    SELECT u.id FROM tracker_unit u JOIN tree ON u.parent_id = tree.id
)
SELECT s.id, s.name, s.kind, d.date, 1, d.tasks, d.approved, d.submitted, d.overdue,
       CAST(d.approved AS DOUBLE PRECISION) / NULLIF(d.tasks, 0),
       CAST(d.on_time AS DOUBLE PRECISION) / NULLIF(d.due_passed, 0),
       d.score
FROM tree
JOIN tracker_unit s ON s.id = tree.id AND s.kind = 'school'
JOIN tracker_dailysnapshot d ON d.school_id = s.id AND d.cycle_id = %s AND d.date BETWEEN %s AND %s
ORDER BY s.name, s.id, d.date
"""

_TREND_ROLLUP_SQL = """
WITH RECURSIVE tree(id, top_id) AS (
    SELECT u.id, u.id FROM tracker_unit u WHERE u.parent_id = %s
  UNION
    SELECT u.id, tree.top_id FROM tracker_unit u JOIN tree ON u.parent_id = tree.id
),
points AS (
    SELECT tree.top_id, d.date, COUNT(*) AS schools, SUM(d.tasks) AS tasks, SUM(d.approved) AS approved,
           SUM(d.submitted) AS submitted, SUM(d.overdue) AS overdue, SUM(d.due_passed) AS due_passed,
           SUM(d.on_time) AS on_time, AVG(d.score) AS score
    FROM tree
    JOIN tracker_unit s ON s.id = tree.id AND s.kind = 'school'
    JOIN tracker_dailysnapshot d ON d.school_id = s.id AND d.cycle_id = %s AND d.date BETWEEN %s AND %s
    GROUP BY tree.top_id, d.date
)
SELECT c.id, c.name, c.kind, p.date, p.schools, CAST(p.tasks AS BIGINT), CAST(p.approved AS BIGINT),
       CAST(p.submitted AS BIGINT), CAST(p.overdue AS BIGINT),
       CAST(p.approved AS DOUBLE PRECISION) / NULLIF(p.tasks, 0),
       CAST(p.on_time AS DOUBLE PRECISION) / NULLIF(p.due_passed, 0),
       ROUND(p.score, 2)
FROM tracker_unit c JOIN points p ON p.top_id = c.id
WHERE c.parent_id = %s
ORDER BY c.name, c.id, p.date
"""

_POINT_COLUMNS = ("schools", "tasks", "approved", "submitted", "overdue", "completion_rate", "on_time_rate", "score")


def trend_series(
    *, cycle: Cycle, since: date, until: date, roots: Sequence[int] = (), unit: Unit | None = None
) -> list[dict[str, Any]]:
    """Daily snapshots between `since` and `until`: per school under `roots`, or per child of `unit`.

    A point has the day's counts, its rates over them and the score (a rollup: summed counts, rates
    over the sums, the mean school score, and how many schools had a snapshot that day).
    """
    if unit is not None:
        sql, params = _TREND_ROLLUP_SQL, [unit.pk, cycle.pk, since, until, unit.pk]
    else:
        roots = sorted(set(roots))
        sql, params = _TREND_FLAT_SQL.format(roots=_placeholders(roots)), [*roots, cycle.pk, since, until]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        records = cursor.fetchall()
    series: list[dict[str, Any]] = []
    current = None
    for unit_id, name, kind, day, *values in records:
        if unit_id != current:
            ref = {"id": unit_id, "name": name, "kind": kind} if unit else {"id": unit_id, "name": name}
            series.append({"unit" if unit else "school": ref, "points": []})
            current = unit_id
        point = {"date": day if isinstance(day, date) else date.fromisoformat(day)}
        point.update(zip(_POINT_COLUMNS, values, strict=True))
        point["score"] = float(point["score"]) if point["score"] is not None else None
        if unit is None:
            del point["schools"]
        series[-1]["points"].append(point)
    return series
