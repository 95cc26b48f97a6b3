"""Rollup tables: the counts of every school in every round (a cycle or an integrity campaign), kept
so that reading a dashboard never scans the task table (CONTRACT section 10).

* `SchoolRollup`: one row per school x round with tasks: the status counts, extensions, score and last
  activity (facts that change only when a task is written), and the time-dependent counts (overdue, due
  passed, on time, on time against the original due time, at risk) as of the round's `RollupClock`.
* `RollupEdge`: the deadline buckets. A time-dependent count of a school at `now` is the sum of the
  deltas of its edges with `at < now` (a task's due time passing adds it to overdue, removes it from at
  risk; its early-warning moment adds it to at risk, ...), so the counts at any `now` are the row's
  counts as of the clock plus the edges between the clock and `now`: a handful of rows when the sweep
  keeps the clock close to now.
* `RollupDirty`: the schools whose tasks changed since their row was computed. Database triggers on
  the task table insert these in the same transaction as *every* write to a task (services, bulk
  statements, cascades, the admin, tests), so a reader that takes a dirty school's numbers from its
  tasks is exact whatever path the write took; `rollups_flush` recomputes them afterwards.

* `CriterionRollup` / `CriterionRollupEdge`: the same counts per criterion, summed over a block of the
  schools of one unit (the schools whose parent is `unit_id` and whose id // ROLLUP_BLOCK is `block`),
  for the criteria view and its exports: any caller's scope (the authority, or the units under a
  supervisor's roots) is a sum over the units under it. A block's rows are stale exactly while one of
  its schools is dirty (RollupDirty) or a school moved into or out of it (`RollupBlockDirty`, written by
  a trigger on the unit table): a reader takes stale blocks from their tasks (one block is at most
  ROLLUP_BLOCK schools), and the flush recounts them.

The rows are derived data: `manage.py rollups_verify` recomputes them from the tasks, and
`rollups_rebuild` rebuilds them. No foreign keys: a deleted cycle's tasks mark their schools dirty
and the flush deletes their rows.
"""

from __future__ import annotations

from django.db import models


class RoundKind(models.IntegerChoices):
    CYCLE = 1, "cycle"
    CAMPAIGN = 2, "campaign"


class RollupClock(models.Model):
    """The time a round's rows are counted as of, and the early-warning settings they were counted with."""

    round_kind = models.PositiveSmallIntegerField(choices=RoundKind.choices)
    round_id = models.BigIntegerField()
    as_of = models.DateTimeField()
    # "days/margin/stagnation_days" of EarlyWarning: rows counted with other settings are not read.
    rules = models.CharField(max_length=64)
    # Bumped by every change to the round's rows (flush, advance, rebuild): with the clock, what tells a
    # cached overview that the rows it was built from are still the rows (tracker.reporting.overview_cache).
    generation = models.BigIntegerField(default=0)
    # The generation at which a row last vanished (a school whose tasks all went) or every row was written
    # again (a rebuild): a document kept from an earlier generation cannot be patched row by row, since
    # the rows that changed since are no longer all stamped (tracker.reporting.overview_patch).
    reset_generation = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round_kind", "round_id"], name="rollup_clock_one_per_round")]


class _Counts(models.Model):
    overdue = models.IntegerField(default=0)
    due_passed = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)
    original_due_passed = models.IntegerField(default=0)
    on_time_original = models.IntegerField(default=0)
    at_risk = models.IntegerField(default=0)

    class Meta:
        abstract = True


class _StatusCounts(_Counts):
    tasks = models.IntegerField(default=0)
    approved = models.IntegerField(default=0)
    submitted = models.IntegerField(default=0)
    in_progress = models.IntegerField(default=0)
    not_started = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)
    extensions = models.IntegerField(default=0)

    class Meta:
        abstract = True


class SchoolRollup(_StatusCounts):
    round_kind = models.PositiveSmallIntegerField(choices=RoundKind.choices)
    round_id = models.BigIntegerField()
    school_id = models.BigIntegerField()
    # Approved, the latest submission at or before the due time then in force: a rectification closed on
    # time (the integrity dashboard).
    approved_in_time = models.IntegerField(default=0)
    score = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    last_activity_at = models.DateTimeField(null=True)
    # The round's clock generation when the row was last written (flush, advance, rebuild): the rows that
    # changed since a kept overview was built are those stamped after its generation.
    generation = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round_kind", "round_id", "school_id"], name="school_rollup_one_per_round")
        ]
        indexes = [models.Index(fields=["round_kind", "round_id", "generation"], name="school_rollup_generation")]


class RollupEdge(_Counts):
    """The deltas of a school's time-dependent counts when `now` passes `at` (counted for `at < now`)."""

    round_kind = models.PositiveSmallIntegerField(choices=RoundKind.choices)
    round_id = models.BigIntegerField()
    school_id = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["round_kind", "round_id", "at"], name="rollup_edge_round_at"),
            models.Index(fields=["round_kind", "round_id", "school_id"], name="rollup_edge_round_school"),
        ]


class RollupDirty(models.Model):
    round_kind = models.PositiveSmallIntegerField(choices=RoundKind.choices)
    round_id = models.BigIntegerField()
    school_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round_kind", "round_id", "school_id"], name="rollup_dirty_one_per_school")
        ]


class FlagVersion(models.Model):
    """Per cycle, a number every statement that changes its open flags (which school, what severity) sets
    to a value it never had: database triggers on tracker_flag, migration 0019_overview, whatever path the
    write takes. What a kept overview checks its flags by, in O(1) however many schools are flagged."""

    cycle_id = models.BigIntegerField(unique=True)
    version = models.BigIntegerField(default=0)


class _CriterionBlock(models.Model):
    """The key of the criterion rollups: one criterion of a round, one block of one unit's schools."""

    round_kind = models.PositiveSmallIntegerField(choices=RoundKind.choices)
    round_id = models.BigIntegerField()
    criterion_id = models.BigIntegerField()
    unit_id = models.BigIntegerField()
    block = models.BigIntegerField()

    class Meta:
        abstract = True


class CriterionRollup(_StatusCounts, _CriterionBlock):
    """One criterion's counts over one block of the schools of one unit (the schools' parent)."""

    score = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    scored = models.IntegerField(default=0)  # tasks with a score: the average score is score / scored

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round_kind", "round_id", "unit_id", "block", "criterion_id"],
                name="criterion_rollup_one_per_block",
            )
        ]


class CriterionRollupEdge(_Counts, _CriterionBlock):
    """RollupEdge per criterion and block: the deltas when `now` passes `at`."""

    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["round_kind", "round_id", "at"], name="criterion_edge_round_at"),
            models.Index(fields=["round_kind", "round_id", "unit_id", "block"], name="criterion_edge_round_block"),
        ]


class RollupBlockDirty(models.Model):
    """A block whose criterion rows are stale because a school moved into or out of it (a unit trigger)."""

    round_kind = models.PositiveSmallIntegerField(choices=RoundKind.choices)
    round_id = models.BigIntegerField()
    unit_id = models.BigIntegerField()
    block = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round_kind", "round_id", "unit_id", "block"], name="rollup_block_dirty_one_per_block"
            )
        ]


# Schools are grouped into blocks of this many ids under their unit: a dirty school costs a reader the
# tasks of at most this many schools, and a round has about criteria x schools / ROLLUP_BLOCK rows.
ROLLUP_BLOCK = 100

TIME_COUNTS = ("overdue", "due_passed", "on_time", "original_due_passed", "on_time_original", "at_risk")
