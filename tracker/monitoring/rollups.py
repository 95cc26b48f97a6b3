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
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracker.assessment.models import Task, TaskStatus
from tracker.enqueue import enqueue

from .counts import submitted_in_time_q, task_count_aggregates
from .rollup_edges import edges_write
from .rollup_models import TIME_COUNTS, RollupClock, RollupDirty, RollupEdge, RoundKind, SchoolRollup
from .rules import EarlyWarning

BATCH = 5000
FLUSH_TASK = "tracker.flush_rollups"  # tasks/rollups.py
ROLLUP_COUNTS = (
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
    "last_activity_at",
    "approved_in_time",
)
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


def _rows_write(*, kind: int, round_id: int, as_of: datetime, school_ids: Sequence[int] | None) -> None:
    sql, params = school_counts_query(
        kind=kind, round_id=round_id, now=as_of, school_ids=school_ids
    ).query.sql_with_params()
    columns = ", ".join(ROLLUP_COUNTS)
    # Stamped with the clock's generation (bumped just before): what an overview patch looks for.
    generation = "(SELECT generation FROM tracker_rollupclock WHERE round_kind = %s AND round_id = %s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO tracker_schoolrollup (round_kind, round_id, school_id, {columns}, generation) "
            f"SELECT %s, %s, q.school_id, {', '.join(f'q.{c}' for c in ROLLUP_COUNTS)}, {generation} FROM ({sql}) q",
            [kind, round_id, kind, round_id, *params],
        )


def _recompute(*, kind: int, round_id: int, as_of: datetime, school_ids: Sequence[int] | None) -> None:
    """Replace the rows and edges of `school_ids` (None: every school) of one round."""
    rows = SchoolRollup.objects.filter(round_kind=kind, round_id=round_id)
    edges = RollupEdge.objects.filter(round_kind=kind, round_id=round_id)
    had: list[int] = []
    if school_ids is not None:
        rows, edges = rows.filter(school_id__in=school_ids), edges.filter(school_id__in=school_ids)
        had = list(rows.values_list("school_id", flat=True))
    rows._raw_delete(rows.db)
    edges._raw_delete(edges.db)
    _bump(kind, round_id)
    _rows_write(kind=kind, round_id=round_id, as_of=as_of, school_ids=school_ids)
    edges_write(kind=kind, round_id=round_id, school_ids=school_ids)
    # Every row written again, or a school's row gone (no task left): the stamps no longer tell every
    # change since an earlier generation.
    if school_ids is None or rows.filter(school_id__in=had).count() < len(had):
        RollupClock.objects.filter(round_kind=kind, round_id=round_id).update(reset_generation=F("generation"))


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
    marks = RollupDirty.objects.filter(round_kind=kind, round_id=round_id)
    marks._raw_delete(marks.db)
    _recompute(kind=kind, round_id=round_id, as_of=now, school_ids=None)


def _dirty_rounds() -> list[Round]:
    return list(RollupDirty.objects.values_list("round_kind", "round_id").distinct().order_by("round_kind", "round_id"))


def rollups_flush(*, now: datetime | None = None) -> int:
    """Recompute the rows of every dirty school; the number of schools recomputed."""
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
                if not ids:
                    break
                _recompute(kind=kind, round_id=round_id, as_of=as_of, school_ids=ids)
                marks.filter(school_id__in=ids).delete()
                done += len(ids)
            if len(ids) < BATCH:
                break
    return done


def _fold_all(*, now: datetime, rules: str) -> None:
    """Every round counted under `rules`: add to its rows the edges between its clock and `now` (taken
    away when `now` is earlier), in one statement whatever the number of rounds."""
    at = connection.ops.adapt_datetimefield_value(now)
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    sign = "CASE WHEN c.as_of <= %s THEN 1 ELSE -1 END"
    sums = ", ".join(f"SUM({sign} * e.{c}) AS {c}" for c in TIME_COUNTS)
    sets = ", ".join(f"{c} = tracker_schoolrollup.{c} + d.{c}" for c in TIME_COUNTS)
    # Each row folded is stamped with the generation its clock moves to (rollups_advance, just after).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE tracker_schoolrollup SET {sets}, generation = d.generation + 1 FROM ("
            f"SELECT e.round_kind, e.round_id, e.school_id, c.generation, {sums} FROM tracker_rollupedge e "
            "JOIN tracker_rollupclock c ON c.round_kind = e.round_kind AND c.round_id = e.round_id "
            f"WHERE c.rules = %s AND e.at >= {least}(c.as_of, %s) AND e.at < {greatest}(c.as_of, %s) "
            "GROUP BY e.round_kind, e.round_id, e.school_id, c.generation) d "
            "WHERE tracker_schoolrollup.round_kind = d.round_kind AND tracker_schoolrollup.round_id = d.round_id "
            "AND tracker_schoolrollup.school_id = d.school_id",
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
        _fold_all(now=now, rules=key)
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
        for model in (RollupClock, SchoolRollup, RollupEdge, RollupDirty):
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
