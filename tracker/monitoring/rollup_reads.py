"""Reading the rollups: a round's per-school counts as of any `now`, without reading its tasks.

One statement, so the rows, the clock and the edges come from one snapshot: each clean school's row
(counted as of the clock) plus `sign` x the sum of its edges between the clock and `now` (forwards
when `now` is later, backwards when a reader asks about an earlier time). The dirty schools are left
out here; the caller adds them counted from their tasks (tracker.reporting.overview).

`criterion_counts_sql` reads the criterion x block rows the same way, for the criteria view
(tracker.reporting.school), over the schools of any scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists
from django.db.models.expressions import RawSQL

from tracker.assessment.models import Task
from tracker.org.tree import SCHOOL, UNIT_TABLE, placeholders, subtree_cte

from .rollup_models import ROLLUP_BLOCK, TIME_COUNTS, RollupClock, RollupDirty
from .rollups import CRITERION_COUNTS, ROLLUP_COUNTS, criterion_counts_query, rules_key, school_counts_query


def school_counts_sql(*, kind: int, round_id: int, now: datetime, only_tree: bool) -> tuple[str, list[Any]]:
    """SELECT school_id, *ROLLUP_COUNTS of the round as of `now` (only the schools of a `tree` CTE
    with `only_tree`), in one statement.

    When the round's rollups are readable (a clock counted under the current early-warning settings):
    each clean school's row plus its edges between the clock and `now`, and each dirty school (its tasks
    changed since its row was counted) from its tasks. Otherwise (no rollups yet, or other settings) one
    GROUP BY over the round's tasks. The choice is a one-time filter inside the statement (PostgreSQL
    runs only the branch it selects), so it costs no query of its own and reads one snapshot.
    """
    scan = school_counts_query(kind=kind, round_id=round_id, now=now)
    if only_tree:
        scan = scan.filter(school_id__in=RawSQL("SELECT id FROM tree", ()))
    readable = Exists(RollupClock.objects.filter(round_kind=kind, round_id=round_id, rules=rules_key()))
    dirty = RollupDirty.objects.filter(round_kind=kind, round_id=round_id).values("school_id")
    dirty_sql, dirty_params = scan.filter(readable, school_id__in=dirty).query.sql_with_params()
    full_sql, full_params = scan.filter(~readable).query.sql_with_params()
    rollup_sql, rollup_params = rollup_counts_sql(kind=kind, round_id=round_id, now=now, only_tree=only_tree)
    return (
        f"{rollup_sql} UNION ALL {dirty_sql} UNION ALL {full_sql}",
        [*rollup_params, *dirty_params, *full_params],
    )


def readable_counts_sql(*, kind: int, round_id: int, now: datetime, dirty: bool) -> tuple[str, list[Any]]:
    """school_counts_sql for a reader that knows the round's rollups are readable and checks it in the same
    statement (only the schools of a `tree` CTE): the clean schools' rows and edges, and (`dirty`) the
    dirty schools from their tasks; without `dirty` a dirty school has no counts, so the reader must also
    check there is none. One ORM query to compile at most, not two: for the few schools of a patch."""
    rollup_sql, rollup_params = rollup_counts_sql(kind=kind, round_id=round_id, now=now, only_tree=True)
    if not dirty:
        return rollup_sql, rollup_params
    dirty_sql, dirty_params = _dirty_counts_sql(kind, round_id, now)
    return f"{rollup_sql} UNION ALL {dirty_sql}", [*rollup_params, *dirty_params]


def _dirty_counts_compiled(kind: int, round_id: int, now: datetime) -> tuple[str, list[Any]]:
    marks = RollupDirty.objects.filter(round_kind=kind, round_id=round_id).values("school_id")
    scan = school_counts_query(kind=kind, round_id=round_id, now=now).filter(
        school_id__in=RawSQL("SELECT id FROM tree", ())
    )
    return scan.filter(school_id__in=marks).query.sql_with_params()


# Compiling the ORM query costs more than running it for a few schools. Its text does not depend on `now`
# when every parameter that does is `now` shifted by a constant: checked by compiling it at two times
# (any other use of `now`, a date or a start of day, fails the check and is compiled every time).
_A = datetime(2001, 1, 1, tzinfo=UTC)
_B = _A + timedelta(days=1009, seconds=7)
_compiled: dict[tuple[int, int, str], tuple[str, list[Any]] | None] = {}


def _dirty_counts_sql(kind: int, round_id: int, now: datetime) -> tuple[str, list[Any]]:
    key = (kind, round_id, rules_key())
    if key not in _compiled:
        (sql_a, params_a), (sql_b, params_b) = (_dirty_counts_compiled(kind, round_id, at) for at in (_A, _B))
        shifts = sql_a == sql_b and len(params_a) == len(params_b)
        for a, b in zip(params_a, params_b, strict=False):
            timed = isinstance(a, datetime) and isinstance(b, datetime)
            shifts = shifts and (b - a == _B - _A if timed else type(a) is type(b) and a == b)
        if len(_compiled) > 256:
            _compiled.clear()
        _compiled[key] = (sql_a, list(params_a)) if shifts else None
    held = _compiled[key]
    if held is None:
        return _dirty_counts_compiled(kind, round_id, now)
    sql, params = held
    return sql, [now + (p - _A) if isinstance(p, datetime) else p for p in params]


def rollup_counts_sql(*, kind: int, round_id: int, now: datetime, only_tree: bool) -> tuple[str, list[Any]]:
    """SELECT school_id, *ROLLUP_COUNTS of the round's clean schools (of the `tree` CTE if `only_tree`)."""
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    at = connection.ops.adapt_datetimefield_value(now)
    columns = ", ".join(
        f"r.{c} + k.sign * COALESCE(e.{c}, 0) AS {c}" if c in TIME_COUNTS else f"r.{c}" for c in ROLLUP_COUNTS
    )
    sums = ", ".join(f"SUM(x.{c}) AS {c}" for c in TIME_COUNTS)
    tree = "AND r.school_id IN (SELECT id FROM tree)" if only_tree else ""
    sql = f"""SELECT r.school_id, {columns}
    FROM tracker_schoolrollup r
    CROSS JOIN (
        SELECT CASE WHEN as_of <= %s THEN 1 ELSE -1 END AS sign FROM tracker_rollupclock
        WHERE round_kind = %s AND round_id = %s AND rules = %s
    ) k
    LEFT JOIN (
        SELECT x.school_id, {sums}
        FROM tracker_rollupedge x JOIN tracker_rollupclock c ON c.round_kind = x.round_kind AND c.round_id = x.round_id
        WHERE x.round_kind = %s AND x.round_id = %s
          AND x.at >= {least}(c.as_of, %s) AND x.at < {greatest}(c.as_of, %s)
        GROUP BY x.school_id
    ) e ON e.school_id = r.school_id
    WHERE r.round_kind = %s AND r.round_id = %s {tree}
      AND NOT EXISTS (
        SELECT 1 FROM tracker_rollupdirty d
        WHERE d.round_kind = r.round_kind AND d.round_id = r.round_id AND d.school_id = r.school_id
      )"""
    return sql, [at, kind, round_id, rules_key(), kind, round_id, at, at, kind, round_id]


def criterion_counts_sql(
    *, kind: int, round_id: int, now: datetime, roots: Sequence[int] | None, then: str = "SELECT * FROM counted"
) -> tuple[str, list[Any]]:
    """A statement whose CTE `counted(criterion_id, *CRITERION_COUNTS)` holds the round's counts per
    criterion as of `now`, over the schools under `roots` (None: every school of the round), ending in
    `then` (a SELECT that reads `counted`; its parameters follow the returned ones).

    When the round's rollups are readable: the rows of each clean block (criterion x block of a unit's
    schools) of a unit under `roots`, and their edges between the clock and `now`; and, counted from
    their tasks, the schools in a stale block (one of its schools dirty, or a school moved in or out)
    and the schools under `roots` whose unit is not (a root that is a school). Every school under
    `roots` is counted once: from its block's row, or from its tasks. Otherwise one GROUP BY over the
    round's tasks, as school_counts_sql does. One statement, so the rows, the marks, the clock and the
    edges are one snapshot.

    Planning: `counted` is MATERIALIZED (computed once, whatever the join that reads it); the clock's
    time and the stale blocks' schools reach the edge and task scans as one-time values (InitPlans),
    so that the edges are found by their time and the tasks by their school, through the indexes; rows
    and edges are summed per criterion, never joined block to block.
    """
    postgresql = connection.vendor == "postgresql"
    least, greatest = ("LEAST", "GREATEST") if postgresql else ("MIN", "MAX")
    at = connection.ops.adapt_datetimefield_value(now)
    units, schools = UNIT_TABLE, f"{UNIT_TABLE} s"
    ctes, params = [], []
    if roots is not None:
        roots = sorted(set(roots)) or [0]
        ctes.append(subtree_cte(f"SELECT u.id, u.id FROM {units} u WHERE u.id IN ({placeholders(roots)})"))
        params += roots
    ctes.append(
        "k AS (SELECT CASE WHEN as_of <= %s THEN 1 ELSE -1 END AS sign, as_of FROM tracker_rollupclock "
        "WHERE round_kind = %s AND round_id = %s AND rules = %s)"
    )
    params += [at, kind, round_id, rules_key()]
    ctes.append(
        f"stale(unit_id, block) AS (SELECT COALESCE(s.parent_id, 0), s.id / {ROLLUP_BLOCK} "
        f"FROM tracker_rollupdirty d JOIN {schools} ON s.id = d.school_id WHERE d.round_kind = %s AND d.round_id = %s "
        "UNION SELECT unit_id, block FROM tracker_rollupblockdirty WHERE round_kind = %s AND round_id = %s)"
    )
    params += [kind, round_id, kind, round_id]
    in_tree = "AND {}.unit_id IN (SELECT id FROM tree)" if roots is not None else ""
    clean = "NOT EXISTS (SELECT 1 FROM stale WHERE stale.unit_id = {0}.unit_id AND stale.block = {0}.block)"
    # The rows of the clean blocks, as of the clock; then their edges between the clock and `now`, each
    # with the clock's sign (found by time through the index: the bounds are one-time values).
    rows_sql = f"""SELECT r.criterion_id, {", ".join(f"r.{c}" for c in CRITERION_COUNTS)}
    FROM tracker_criterionrollup r CROSS JOIN k
    WHERE r.round_kind = %s AND r.round_id = %s {in_tree.format("r")} AND {clean.format("r")}
    UNION ALL
    SELECT x.criterion_id, {", ".join(f"k.sign * x.{c}" if c in TIME_COUNTS else "0" for c in CRITERION_COUNTS)}
    FROM tracker_criterionrollupedge x CROSS JOIN k
    WHERE x.round_kind = %s AND x.round_id = %s
      AND x.at >= {least}((SELECT as_of FROM k), %s) AND x.at < {greatest}((SELECT as_of FROM k), %s)
      {in_tree.format("x")} AND {clean.format("x")}"""
    rows_params = [kind, round_id, kind, round_id, at, at]
    # The schools counted from their tasks: in a stale block, or (a scope) under a root but not its unit.
    task_schools = (
        f"SELECT s.id FROM stale JOIN {schools} ON COALESCE(s.parent_id, 0) = stale.unit_id "
        f"AND s.id >= stale.block * {ROLLUP_BLOCK} AND s.id < (stale.block + 1) * {ROLLUP_BLOCK}"
    )
    if roots is not None:
        task_schools += (
            " WHERE s.id IN (SELECT id FROM tree) UNION "
            f"SELECT s.id FROM tree JOIN {schools} ON s.id = tree.id AND s.kind = '{SCHOOL}' "
            "WHERE s.parent_id IS NULL OR s.parent_id NOT IN (SELECT id FROM tree)"
        )
    task_table = Task._meta.db_table
    by_school = (
        f'"{task_table}"."school_id" = ANY(ARRAY({task_schools}))'
        if postgresql
        else f'"{task_table}"."school_id" IN ({task_schools})'
    )
    scan = criterion_counts_query(kind=kind, round_id=round_id, now=now, per_block=False)
    readable = Exists(RollupClock.objects.filter(round_kind=kind, round_id=round_id, rules=rules_key()))
    tasks_sql, tasks_params = scan.filter(
        readable, RawSQL(by_school, (), output_field=BooleanField())
    ).query.sql_with_params()
    full = scan.filter(~readable)
    if roots is not None:
        full = full.filter(school_id__in=RawSQL("SELECT id FROM tree", ()))
    full_sql, full_params = full.query.sql_with_params()
    totals = ", ".join(
        f"COALESCE(SUM({c}), 0) AS {c}" if c == "score" else f"CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}"
        for c in CRITERION_COUNTS
    )
    ctes.append(
        f"counted AS {'MATERIALIZED ' if postgresql else ''}(SELECT criterion_id, {totals} FROM ("
        f"{rows_sql} UNION ALL {tasks_sql} UNION ALL {full_sql}) parts GROUP BY criterion_id)"
    )
    return (
        f"WITH RECURSIVE {', '.join(ctes)}\n{then}",
        [*params, *rows_params, *tasks_params, *full_params],
    )
