"""`rollups_verify`: recompute the rollups from the tasks and name the first difference.

Three checks per round (a cycle or a campaign), each against a recount from its tasks: the rows of the
clean schools as of the round's clock; their edges (the deadline buckets); and what a reader gets as of
`now` (rows, edges between the clock and `now`, and the dirty schools counted from their tasks), which
is what the dashboards show. A school with tasks but neither a row nor a dirty mark is a difference.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .rollup_edges import edges_expected
from .rollup_models import TIME_COUNTS, RollupClock, RollupDirty, RollupEdge, SchoolRollup
from .rollup_reads import school_counts_sql
from .rollups import ROLLUP_COUNTS, Round, clock_of, db_time, school_counts_query, task_rounds


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


def _round_diff(kind: int, round_id: int, now: datetime) -> str | None:
    name = f"{'cycle' if kind == 1 else 'campaign'} {round_id}"
    dirty = set(RollupDirty.objects.filter(round_kind=kind, round_id=round_id).values_list("school_id", flat=True))
    clock = RollupClock.objects.filter(round_kind=kind, round_id=round_id).first()
    if clock is None:
        unmarked = set(school_counts_query(kind=kind, round_id=round_id, now=now).values_list("school_id", flat=True))
        unmarked -= dirty
        return f"{name}: no clock, and school {min(unmarked)} has tasks but no dirty mark" if unmarked else None
    # 1. The rows of the clean schools, as of the clock.
    expected = {
        row["school_id"]: _row(row[c] for c in ROLLUP_COUNTS)
        for row in school_counts_query(kind=kind, round_id=round_id, now=clock.as_of)
        if row["school_id"] not in dirty
    }
    actual = {
        row["school_id"]: _row(row[c] for c in ROLLUP_COUNTS)
        for row in SchoolRollup.objects.filter(round_kind=kind, round_id=round_id).values("school_id", *ROLLUP_COUNTS)
        if row["school_id"] not in dirty
    }
    found = _first_difference(f"{name} as of {clock.as_of.isoformat()}: school", expected, actual)
    if found:
        return found
    # 2. The edges of the clean schools.
    zero = (0,) * len(TIME_COUNTS)
    expected = {
        (school, _value(at)): tuple(deltas)
        for school, at, *deltas in edges_expected(kind=kind, round_id=round_id)
        if school not in dirty and tuple(deltas) != zero
    }
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(TIME_COUNTS))
    for school, at, *deltas in RollupEdge.objects.filter(round_kind=kind, round_id=round_id).values_list(
        "school_id", "at", *TIME_COUNTS
    ):
        if school not in dirty:
            sums[(school, _value(at))] = [a + b for a, b in zip(sums[(school, _value(at))], deltas, strict=True)]
    actual = {key: tuple(deltas) for key, deltas in sums.items() if tuple(deltas) != zero}
    found = _first_difference(f"{name}: edge (school, at)", expected, actual)
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
    return _first_difference(f"{name} read as of {now.isoformat()}: school", expected, read)


def rollups_diff(*, now: datetime | None = None) -> str | None:
    """None when the rollups equal a recount from the tasks; else the first difference, in words."""
    now = now or timezone.now()
    rounds: set[Round] = set(task_rounds())
    for model in (RollupClock, SchoolRollup, RollupDirty):
        rounds |= set(model.objects.values_list("round_kind", "round_id").distinct().order_by())
    for kind, round_id in sorted(rounds):
        found = _round_diff(kind, round_id, now)
        if found:
            return found
    return None
