"""`rollups_verify`: recompute the rollups from the tasks and name the first difference.

Three checks per round (a cycle or a campaign), each against a recount from its tasks: the rows of the
clean schools and of the clean criterion blocks as of the round's clock; their edges (the deadline
buckets); and what a reader gets as of `now` (rows, edges between the clock and `now`, and the dirty
schools and stale blocks counted from their tasks), which is what the dashboards show: the overview's
per-school counts, and the criteria view's per-criterion counts of the whole round and of each unit's
schools. A school with tasks but neither a row nor a dirty mark is a difference.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracker.assessment.models import Task
from tracker.org.models import Unit
from tracker.org.tree import descendant_ids

from .rollup_edges import edges_expected
from .rollup_grains import GRAINS, SCHOOL_GRAIN, Grain, blocks_of
from .rollup_models import TIME_COUNTS, CriterionRollup, RollupBlockDirty, RollupClock, RollupDirty, SchoolRollup
from .rollup_reads import criterion_counts_sql, school_counts_sql
from .rollups import (
    CRITERION_COUNTS,
    ROLLUP_COUNTS,
    Round,
    clock_of,
    counts_query,
    criterion_counts_query,
    db_time,
    grain_counts,
    round_q,
    school_counts_query,
    task_rounds,
)


def _value(value: Any) -> Any:
    if isinstance(value, Decimal | float):
        return Decimal(value).quantize(Decimal("0.01"))
    if isinstance(value, str):  # SQLite: times as text through a raw cursor
        value = db_time(value) if parse_datetime(value) else value
    if isinstance(value, datetime):
        value = db_time(value)
        return timezone.localtime(value, timezone.get_fixed_timezone(0)).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _row(values: Any) -> tuple:
    return tuple(_value(v) for v in values)


def _first_difference(what: str, expected: dict, actual: dict) -> str | None:
    for key in sorted(set(expected) | set(actual), key=str):
        if expected.get(key) != actual.get(key):
            return f"{what} {key}: expected {expected.get(key)}, found {actual.get(key)}"
    return None


def _stale(grain: Grain, kind: int, round_id: int) -> set:
    """The keys prefixes whose rows and edges are not held to the tasks: dirty schools, stale blocks."""
    dirty = set(RollupDirty.objects.filter(round_kind=kind, round_id=round_id).values_list("school_id", flat=True))
    if grain is SCHOOL_GRAIN:
        return {(school,) for school in dirty}
    moved = RollupBlockDirty.objects.filter(round_kind=kind, round_id=round_id).values_list("unit_id", "block")
    return blocks_of(sorted(dirty)) | set(moved)


def _is_stale(grain: Grain, key: tuple, stale: set) -> bool:
    return (key[0],) in stale if grain is SCHOOL_GRAIN else (key[1], key[2]) in stale


def _grain_diff(grain: Grain, name: str, kind: int, round_id: int, clock: RollupClock) -> str | None:
    """The rows of the clean keys as of the clock, and their edges, against a recount."""
    n, counts, stale = len(grain.keys), grain_counts(grain), _stale(grain, kind, round_id)

    def key_of(row: dict) -> Any:  # a school's id alone, or (criterion, unit, block)
        key = tuple(row[k] for k in grain.keys)
        return key if n > 1 else key[0]

    def clean(key: Any) -> bool:
        return not _is_stale(grain, key if n > 1 else (key,), stale)

    expected = {
        key: _row(row[c] for c in counts)
        for row in counts_query(grain, kind=kind, round_id=round_id, now=clock.as_of)
        if clean(key := key_of(row))
    }
    actual = {
        key: _row(row[c] for c in counts)
        for row in grain.rows.objects.filter(round_kind=kind, round_id=round_id).values(*grain.keys, *counts)
        if clean(key := key_of(row))
    }
    what = "school" if n == 1 else "criterion block (criterion, unit, block)"
    found = _first_difference(f"{name} as of {clock.as_of.isoformat()}: {what}", expected, actual)
    if found:
        return found
    zero = (0,) * len(TIME_COUNTS)
    expected = {
        (*row[:n], _value(row[n])): tuple(row[n + 1 :])
        for row in edges_expected(grain, kind=kind, round_id=round_id)
        if not _is_stale(grain, row[:n], stale) and tuple(row[n + 1 :]) != zero
    }
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(TIME_COUNTS))
    for row in grain.edges.objects.filter(round_kind=kind, round_id=round_id).values_list(
        *grain.keys, "at", *TIME_COUNTS
    ):
        if not _is_stale(grain, row[:n], stale):
            key = (*row[:n], _value(row[n]))
            sums[key] = [a + b for a, b in zip(sums[key], row[n + 1 :], strict=True)]
    actual = {key: tuple(deltas) for key, deltas in sums.items() if tuple(deltas) != zero}
    what = "edge (school, at)" if n == 1 else "criterion edge (criterion, unit, block, at)"
    return _first_difference(f"{name}: {what}", expected, actual)


def _criteria_read_diff(name: str, kind: int, round_id: int, now: datetime) -> str | None:
    """The criteria view's read as of `now`, of the whole round and of each unit's schools, against a recount."""
    parents = sorted(
        set(
            Unit.objects.filter(pk__in=Task.objects.filter(round_q(kind, round_id)).values("school_id"))
            .exclude(parent_id=None)
            .values_list("parent_id", flat=True)
        )
    )
    for roots in (None, *([unit] for unit in parents)):
        sql, params = criterion_counts_sql(kind=kind, round_id=round_id, now=now, roots=roots)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            read = {criterion: values for criterion, *values in cursor.fetchall()}
        schools = None if roots is None else sorted(descendant_ids(roots))
        expected = {
            row["criterion_id"]: _row(row[c] for c in CRITERION_COUNTS)
            for row in criterion_counts_query(
                kind=kind, round_id=round_id, now=now, school_ids=schools, per_block=False
            )
        }
        found = _first_difference(
            f"{name} criteria read under {roots or 'all'} as of {now.isoformat()}: criterion",
            expected,
            {criterion: _row(values) for criterion, values in read.items()},
        )
        if found:
            return found
    return None


def _round_diff(kind: int, round_id: int, now: datetime) -> str | None:
    name = f"{'cycle' if kind == 1 else 'campaign'} {round_id}"
    dirty = set(RollupDirty.objects.filter(round_kind=kind, round_id=round_id).values_list("school_id", flat=True))
    clock = RollupClock.objects.filter(round_kind=kind, round_id=round_id).first()
    if clock is None:
        unmarked = set(school_counts_query(kind=kind, round_id=round_id, now=now).values_list("school_id", flat=True))
        unmarked -= dirty
        return f"{name}: no clock, and school {min(unmarked)} has tasks but no dirty mark" if unmarked else None
    # 1, 2. The rows of the clean schools and blocks, as of the clock; their edges.
    for grain in GRAINS:
        found = _grain_diff(grain, name, kind, round_id, clock)
        if found:
            return found
    # 3. What a reader gets as of `now`.
    if clock_of(kind, round_id) is None:
        return None  # counted under other early-warning settings: readers count tasks until the next sweep
    sql, params = school_counts_sql(kind=kind, round_id=round_id, now=now, only_tree=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        read = {row[0]: _row(row[1:]) for row in cursor.fetchall()}
    expected = {
        row["school_id"]: _row(row[c] for c in ROLLUP_COUNTS)
        for row in school_counts_query(kind=kind, round_id=round_id, now=now)
    }
    return _first_difference(f"{name} read as of {now.isoformat()}: school", expected, read) or _criteria_read_diff(
        name, kind, round_id, now
    )


def rollups_diff(*, now: datetime | None = None) -> str | None:
    """None when the rollups equal a recount from the tasks; else the first difference, in words."""
    now = now or timezone.now()
    rounds: set[Round] = set(task_rounds())
    for model in (RollupClock, SchoolRollup, RollupDirty, CriterionRollup, RollupBlockDirty):
        rounds |= set(model.objects.values_list("round_kind", "round_id").distinct().order_by())
    for kind, round_id in sorted(rounds):
        found = _round_diff(kind, round_id, now)
        if found:
            return found
    return None
