"""Keeping the rollup tables (tracker.monitoring.rollup_models) exact.

* Every write to a task, by whatever path, marks its school dirty in the same transaction (database
  triggers, migration 0017_rollups): a reader takes a dirty school's counts from its tasks, so what it
  reads is exact at once, with no staleness.
* `rollups_flush` recomputes the dirty schools' rows and edges from their tasks, as of their round's
  clock, and clears their marks: after commit, from the event handlers (tracker.monitoring.handlers)
  and from the Celery task every sweep enqueues (tasks/rollups.py). Until then a dirty school costs a
  reader one indexed read of its tasks.
* `rollups_advance` (every sweep) moves each round's clock to the sweep's `now`, folding into the rows
  the edges passed in between (deadlines, early-warning moments): time-dependent counts need no scan,
  and a reader adds only the edges between the clock and its `now` (at most a sweep interval's worth).
* The criterion rows (criterion x block of a unit's schools, for the criteria view) are kept by the same
  code (tracker.monitoring.rollup_grains): a flush recounts the blocks its dirty schools are in and the
  blocks a school moved out of or into (RollupBlockDirty, a trigger on the unit table, migration
  0020_criteria_rollups), the advance folds their edges, the rebuild and the verification cover them.
  Campaign tasks have no criterion, so campaigns have no criterion rows (their dashboard has no
  per-item view).
* `rollups_rebuild` recomputes everything (after a bulk seed, or when the early-warning settings the
  edges were computed with change); `rollups_verify` recomputes and compares.

Locks (PostgreSQL, READ COMMITTED): flushing, advancing and rebuilding a round hold its clock FOR
UPDATE (each bumps its generation), so they take turns per round; a flush takes the dirty marks it
handles FOR UPDATE SKIP LOCKED (a mark held by a transaction still writing is left for a later flush:
the trigger's upsert locks the mark until that writer commits) and recounts after locking them. Task
writers never touch the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracker.assessment.models import Task, TaskStatus
from tracker.enqueue import enqueue

from .counts import submitted_in_time_q, task_count_aggregates
from .rollup_edges import edges_write
from .rollup_grains import (
    CRITERION_GRAIN,
    GRAINS,
    SCHOOL_GRAIN,
    Block,
    Grain,
    blocks_of,
    blocks_sql,
    ids_in,
    schools_in,
)
from .rollup_models import (
    ROLLUP_BLOCK,
    TIME_COUNTS,
    CriterionRollup,
    CriterionRollupEdge,
    RollupBlockDirty,
    RollupClock,
    RollupDirty,
    RollupEdge,
    RoundKind,
    SchoolRollup,
)
from .rules import EarlyWarning

BATCH = 5000
FLUSH_TASK = "tracker.flush_rollups"  # tasks/rollups.py
# The counts task_count_aggregates computes, in its order: the status counts, the time-dependent ones,
# extensions and the scores' sum.
AGGREGATED = (
    "tasks",
    "approved",
    "submitted",
    "in_progress",
    "not_started",
    "returned",
    "overdue",
    "due_passed",
    "on_time",
    "original_due_passed",
    "on_time_original",
    "at_risk",
    "extensions",
    "score",
)
ROLLUP_COUNTS = (*AGGREGATED, "last_activity_at", "approved_in_time")
# A criterion x block row: the number of scored tasks (an average is score / scored), then the rest, in
# the order the query selects them.
CRITERION_COUNTS = ("scored", *AGGREGATED)
Round = tuple[int, int]  # (RoundKind, id)


def rules_key() -> str:
    """The early-warning settings the edges depend on; rows counted under others are not read."""
    warning = EarlyWarning.from_settings()
    return f"{warning.days}/{warning.margin}/{warning.stagnation_days}"


def round_q(kind: int, round_id: int, prefix: str = "") -> Q:
    return Q(**{f"{prefix}{'cycle_id' if kind == RoundKind.CYCLE else 'campaign_id'}": round_id})


def school_counts_query(*, kind: int, round_id: int, now: datetime, school_ids: Sequence[int] | None = None):
    """The one GROUP BY school of a round's tasks as of `now`: ROLLUP_COUNTS per school."""
    tasks = Task.objects.filter(round_q(kind, round_id))
    if school_ids is not None:
        tasks = tasks.filter(school_id__in=school_ids)
    return (
        tasks.values("school_id")
        .annotate(
            **task_count_aggregates(now),
            last_activity_at=Max("last_activity_at"),
            approved_in_time=Count("pk", filter=Q(status=TaskStatus.APPROVED) & submitted_in_time_q()),
        )
        .order_by()
    )


def criterion_counts_query(
    *, kind: int, round_id: int, now: datetime, school_ids: Sequence[int] | None = None, per_block: bool = True
):
    """The one GROUP BY criterion x unit x block (or, not `per_block`, criterion) of a round's tasks as of
    `now`: CRITERION_COUNTS per row."""
    tasks = Task.objects.filter(round_q(kind, round_id), CRITERION_GRAIN.task_q)
    if school_ids is not None:
        tasks = tasks.filter(school_id__in=ids_in(school_ids))
    if per_block:
        tasks = tasks.annotate(
            unit_id=Coalesce(F("school__parent_id"), 0),  # a school with no parent: unit 0
            block=ExpressionWrapper(F("school_id") / ROLLUP_BLOCK, output_field=BigIntegerField()),
        ).values("criterion_id", "unit_id", "block")
    else:
        tasks = tasks.values("criterion_id")
    # `scored` first: after the aggregates, "score" would name the summed score, not the column.
    return tasks.annotate(scored=Count("score")).annotate(**task_count_aggregates(now)).order_by()


_COUNTED = {
    SCHOOL_GRAIN.name: (ROLLUP_COUNTS, school_counts_query),
    CRITERION_GRAIN.name: (CRITERION_COUNTS, criterion_counts_query),
}


def counts_query(grain: Grain, *, kind: int, round_id: int, now: datetime, school_ids: Sequence[int] | None = None):
    """The GROUP BY of the grain's keys over a round's tasks (of `school_ids`, or all) as of `now`."""
    return _COUNTED[grain.name][1](kind=kind, round_id=round_id, now=now, school_ids=school_ids)


def grain_counts(grain: Grain) -> tuple[str, ...]:
    return _COUNTED[grain.name][0]


def _rows_write(grain: Grain, *, kind: int, round_id: int, as_of: datetime, school_ids: Sequence[int] | None) -> None:
    sql, params = counts_query(
        grain, kind=kind, round_id=round_id, now=as_of, school_ids=school_ids
    ).query.sql_with_params()
    columns = (*grain.keys, *grain_counts(grain))
    stamp, stamp_sql, stamp_params = "", "", []
    if grain.stamped:
        # Stamped with the clock's generation (bumped just before): what an overview patch looks for.
        stamp = ", generation"
        stamp_sql = ", (SELECT generation FROM tracker_rollupclock WHERE round_kind = %s AND round_id = %s)"
        stamp_params = [kind, round_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {grain.rows_table} (round_kind, round_id, {', '.join(columns)}{stamp}) "
            f"SELECT %s, %s, {', '.join(f'q.{c}' for c in columns)}{stamp_sql} FROM ({sql}) q",
            [kind, round_id, *stamp_params, *params],
        )


def _recompute(
    *, kind: int, round_id: int, as_of: datetime, school_ids: Sequence[int] | None, blocks: Sequence[Block] | None
) -> None:
    """Replace the school rows and edges of `school_ids` and the criterion rows and edges of `blocks`
    (None: every school, every block) of one round."""
    _bump(kind, round_id)
    if school_ids is None or school_ids:
        rows = SchoolRollup.objects.filter(round_kind=kind, round_id=round_id)
        edges = RollupEdge.objects.filter(round_kind=kind, round_id=round_id)
        had: list[int] = []
        if school_ids is not None:
            rows, edges = rows.filter(school_id__in=school_ids), edges.filter(school_id__in=school_ids)
            had = list(rows.values_list("school_id", flat=True))
        rows._raw_delete(rows.db)
        edges._raw_delete(edges.db)
        _rows_write(SCHOOL_GRAIN, kind=kind, round_id=round_id, as_of=as_of, school_ids=school_ids)
        edges_write(SCHOOL_GRAIN, kind=kind, round_id=round_id, school_ids=school_ids)
        # Every row written again, or a school's row gone (no task left): the stamps no longer tell every
        # change since an earlier generation.
        if school_ids is None or rows.filter(school_id__in=had).count() < len(had):
            RollupClock.objects.filter(round_kind=kind, round_id=round_id).update(reset_generation=F("generation"))
    if blocks is not None and not blocks:
        return
    # The schools in the blocks now (a school moved out is no longer counted in its old block).
    block_schools = None if blocks is None else schools_in(sorted(blocks))
    for model in (CriterionRollup, CriterionRollupEdge):
        where, params = ("", []) if blocks is None else blocks_sql(sorted(blocks))
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE round_kind = %s AND round_id = %s"
                + (f" AND {where}" if where else ""),
                [kind, round_id, *params],
            )
    _rows_write(CRITERION_GRAIN, kind=kind, round_id=round_id, as_of=as_of, school_ids=block_schools)
    edges_write(CRITERION_GRAIN, kind=kind, round_id=round_id, school_ids=block_schools)


def _bump(kind: int, round_id: int) -> None:
    """The round's rows change: a new generation (caches built from the old rows no longer match)."""
    RollupClock.objects.filter(round_kind=kind, round_id=round_id).update(generation=F("generation") + 1)


def _clock(kind: int, round_id: int, *, now: datetime, lock: str) -> tuple[datetime, str]:
    """The round's clock (created as of `now` if missing), locked FOR `lock` on PostgreSQL."""
    RollupClock.objects.bulk_create(
        [RollupClock(round_kind=kind, round_id=round_id, as_of=now, rules=rules_key())], ignore_conflicts=True
    )
    suffix = f" FOR {lock}" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT as_of, rules FROM tracker_rollupclock WHERE round_kind = %s AND round_id = %s{suffix}",
            [kind, round_id],
        )
        as_of, rules = cursor.fetchone()
    return db_time(as_of), rules


def db_time(value: datetime | str | None) -> datetime | None:
    """A time read through a raw cursor, aware: SQLite gives text or a naive datetime, in UTC."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _rebuild_round(kind: int, round_id: int, *, now: datetime) -> None:
    """Recompute one round as of `now` (caller's transaction)."""
    _clock(kind, round_id, now=now, lock="UPDATE")
    RollupClock.objects.filter(round_kind=kind, round_id=round_id).update(as_of=now, rules=rules_key())
    # The marks first: deleting them waits for writers still holding one, so the recount below sees them.
    for model in (RollupDirty, RollupBlockDirty):
        marks = model.objects.filter(round_kind=kind, round_id=round_id)
        marks._raw_delete(marks.db)
    _recompute(kind=kind, round_id=round_id, as_of=now, school_ids=None, blocks=None)


def _dirty_rounds() -> list[Round]:
    rounds = set(RollupDirty.objects.values_list("round_kind", "round_id").distinct().order_by())
    rounds |= set(RollupBlockDirty.objects.values_list("round_kind", "round_id").distinct().order_by())
    return sorted(rounds)


def rollups_flush(*, now: datetime | None = None) -> int:
    """Recompute the rows of every dirty school, and the criterion rows of the blocks they are in or a
    school moved out of; the number of schools recomputed."""
    now = now or timezone.now()
    done = 0
    for kind, round_id in _dirty_rounds():
        while True:
            with transaction.atomic():
                as_of, rules = _clock(kind, round_id, now=now, lock="UPDATE")
                if rules != rules_key():
                    break  # counted under other settings: rollups_advance rebuilds the round
                marks = RollupDirty.objects.filter(round_kind=kind, round_id=round_id)
                ids = list(
                    marks.select_for_update(skip_locked=True)
                    .order_by("school_id")
                    .values_list("school_id", flat=True)[:BATCH]
                )
                block_marks = RollupBlockDirty.objects.filter(round_kind=kind, round_id=round_id)
                moved = list(
                    block_marks.select_for_update(skip_locked=True)
                    .order_by("unit_id", "block")
                    .values_list("pk", "unit_id", "block")[:BATCH]
                )
                if not ids and not moved:
                    break
                blocks = blocks_of(ids) | {(unit, block) for _, unit, block in moved}
                _recompute(kind=kind, round_id=round_id, as_of=as_of, school_ids=ids, blocks=blocks)
                marks.filter(school_id__in=ids).delete()
                block_marks.filter(pk__in=[pk for pk, _, _ in moved]).delete()
                done += len(ids)
            if len(ids) < BATCH and len(moved) < BATCH:
                break
    return done


def _fold_all(grain: Grain, *, now: datetime, rules: str) -> None:
    """Every round counted under `rules`: add to its rows of `grain` the edges between its clock and
    `now` (taken away when `now` is earlier), in one statement whatever the number of rounds."""
    at = connection.ops.adapt_datetimefield_value(now)
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    sign = "CASE WHEN c.as_of <= %s THEN 1 ELSE -1 END"
    sums = ", ".join(f"SUM({sign} * e.{c}) AS {c}" for c in TIME_COUNTS)
    table = grain.rows_table
    sets = ", ".join(f"{c} = {table}.{c} + d.{c}" for c in TIME_COUNTS)
    keys = ", ".join(f"e.{k}" for k in grain.keys)
    same = " AND ".join(f"{table}.{k} = d.{k}" for k in ("round_kind", "round_id", *grain.keys))
    # Each row folded is stamped with the generation its clock moves to (rollups_advance, just after).
    stamp, clock = (", generation = d.generation + 1", ", c.generation") if grain.stamped else ("", "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets}{stamp} FROM ("
            f"SELECT e.round_kind, e.round_id, {keys}{clock}, {sums} FROM {grain.edges_table} e "
            "JOIN tracker_rollupclock c ON c.round_kind = e.round_kind AND c.round_id = e.round_id "
            f"WHERE c.rules = %s AND e.at >= {least}(c.as_of, %s) AND e.at < {greatest}(c.as_of, %s) "
            f"GROUP BY e.round_kind, e.round_id, {keys}{clock}) d WHERE {same}",
            [*([at] * len(TIME_COUNTS)), rules, at, at],
        )


def rollups_advance(*, now: datetime) -> int:
    """Move every round's clock to `now` (either way: a back-dated sweep moves it back), in a number of
    statements that does not depend on the rounds or the tasks; rounds counted under other early-warning
    settings are rebuilt. Returns the number of rounds."""
    key = rules_key()
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT round_kind, round_id, rules FROM tracker_rollupclock ORDER BY 1, 2{lock}")
        clocks = cursor.fetchall()
        for kind, round_id, rules in clocks:
            if rules != key:
                _rebuild_round(kind, round_id, now=now)
        for grain in GRAINS:
            _fold_all(grain, now=now, rules=key)
        RollupClock.objects.filter(rules=key).exclude(as_of=now).update(as_of=now, generation=F("generation") + 1)
    return len(clocks)


def rollups_sweep(*, now: datetime) -> None:
    """The sweep's part: every clock to `now`, in a fixed number of statements; the schools still dirty
    (written outside the services, whose events flush them) are recounted by `tracker.flush_rollups`,
    which the sweep hands to a worker."""
    rollups_advance(now=now)
    enqueue(FLUSH_TASK)


def task_rounds() -> list[Round]:
    """Every round that has tasks."""
    cycles = Task.objects.filter(cycle_id__isnull=False).values_list("cycle_id", flat=True).distinct().order_by()
    campaigns = (
        Task.objects.filter(campaign_id__isnull=False).values_list("campaign_id", flat=True).distinct().order_by()
    )
    return [(RoundKind.CYCLE, pk) for pk in sorted(cycles)] + [(RoundKind.CAMPAIGN, pk) for pk in sorted(campaigns)]


def rollups_rebuild(*, now: datetime | None = None) -> int:
    """Recompute every round from its tasks as of `now`; forget rounds that have none. Returns rounds built."""
    now = now or timezone.now()
    rounds = task_rounds()
    for kind, round_id in rounds:
        with transaction.atomic():
            _rebuild_round(kind, round_id, now=now)
    with transaction.atomic():
        for model in (
            RollupClock,
            SchoolRollup,
            RollupEdge,
            RollupDirty,
            CriterionRollup,
            CriterionRollupEdge,
            RollupBlockDirty,
        ):
            gone = model.objects.exclude(
                Q(round_kind=RoundKind.CYCLE, round_id__in=[r for k, r in rounds if k == RoundKind.CYCLE])
                | Q(round_kind=RoundKind.CAMPAIGN, round_id__in=[r for k, r in rounds if k == RoundKind.CAMPAIGN])
            )
            gone.delete()
    return len(rounds)


def clock_of(kind: int, round_id: int) -> dict[str, Any] | None:
    """The round's clock if its rows can be read (counted under the current settings), else None."""
    clock = RollupClock.objects.filter(round_kind=kind, round_id=round_id).values("as_of", "rules").first()
    return clock if clock is not None and clock["rules"] == rules_key() else None
