"""The sweep fanned out (CONTRACT section 10): beat's `tracker.sweep` cuts the schools into shards, one
Celery task per shard, so K workers share the sweep; the last shard to finish hands over the closing
step (urges, one digest per recipient, lost webhooks) to one more task.

    tracker.sweep          sweep_fan_out: a SweepRun and its SweepShard rows, committed, then one
                           `tracker.sweep_shard` message per shard
    tracker.sweep_shard    sweep_shard_run: monitoring.sweep.sweep_schools for the shard's schools;
                           the shard marked done; the last one sends `tracker.sweep_close`
    tracker.sweep_close    sweep_run_close: monitoring.sweep.sweep_close, once per run

Exactly once, as in one process: a shard is a set of schools, so each school's flag is judged in one
shard, and every reminder is still recorded under its unique key before it is delivered, in the
transaction of its batch. A shard run twice (redelivered after its worker was killed, or handed to a
second worker past the visibility timeout) finds the reminders of the batches the first run committed
and sends only the rest. The shard rows say which shards finished; marking one done and asking
whether any is left happen under the run's row lock, so exactly one shard sends the closing step (and a
lost one costs a delay, not a digest: the next sweep's closing step mails everything not mailed yet).

Every shard runs as of its run's `now`, whenever it runs. A shard that runs late (a backlog, or
redelivered an hour after its worker died) judges the tasks as they are then at that earlier time,
which is harmless by the same rules as a back-dated `manage.py sweep --now`: with the tasks' states
fixed, fewer are overdue at an earlier time, so it cannot open a flag a later judgement resolved, and a
flag changed after `now` is left alone (flags_judge); a reminder stage is recorded only if neither it
nor a later one was (reminder_plans), so an earlier stage is never sent after a later one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tracker.enqueue import enqueue

from .models import SweepRun, SweepShard
from .school_ranges import SchoolRange, school_ranges
from .sweep import SweepReport, sweep_close, sweep_schools

logger = logging.getLogger(__name__)

# The Celery tasks (tasks/sweep.py) that run a shard and the closing step; sent by name.
SHARD_TASK = "tracker.sweep_shard"
CLOSE_TASK = "tracker.sweep_close"

# Runs are kept this long (what each shard did, for an operator), then deleted by a later fan-out.
KEEP_RUNS = timedelta(days=7)


@dataclass(frozen=True)
class FanOut:
    run_id: int
    shards: int

    def as_dict(self) -> dict:
        return {"run": self.run_id, "shards": self.shards}


def _send(task_name: str, object_id: int, run_here: Callable[[int], None]) -> None:
    """After commit: run it here in eager mode (the embedded demo, tests), else hand it to the broker."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        run_here(object_id)
        return
    # A message the broker refused is not lost work: the next sweep covers the same schools.
    enqueue(task_name, object_id)


def sweep_fan_out(*, now: datetime | None = None, per_shard: int | None = None) -> FanOut:
    """Cut the schools into shards and send one task per shard, after commit."""
    now = now or timezone.now()
    per_shard = per_shard or int(settings.TRACKER["SWEEP_SHARD_SCHOOLS"])
    ranges = school_ranges(per_shard=per_shard)
    with transaction.atomic():
        SweepRun.objects.filter(created_at__lt=timezone.now() - KEEP_RUNS).delete()
        run = SweepRun.objects.create(now=now, created_at=timezone.now(), shard_count=len(ranges))
        shards = SweepShard.objects.bulk_create(
            SweepShard(run=run, number=n, school_lo=r.lo, school_hi=r.hi) for n, r in enumerate(ranges)
        )
        ids = [shard.pk for shard in shards]

        def send_shards() -> None:
            for pk in ids:
                _send(SHARD_TASK, pk, _run_shard_here)

        transaction.on_commit(send_shards)
    return FanOut(run_id=run.pk, shards=len(ids))


def _run_shard_here(shard_id: int) -> None:
    sweep_shard_run(shard_id=shard_id)


def _close_here(run_id: int) -> None:
    sweep_run_close(run_id=run_id)


def sweep_shard_run(*, shard_id: int, batch_size: int | None = None) -> dict | None:
    """Sweep one shard's schools; None when the shard is done already (or gone with an old run)."""
    with transaction.atomic():
        shard = SweepShard.objects.select_related("run").filter(pk=shard_id, done_at__isnull=True).first()
        if shard is None:
            return None
        # Counted in its own transaction, so a run killed mid-shard still shows.
        SweepShard.objects.filter(pk=shard_id).update(attempts=shard.attempts + 1)
    now = shard.run.now
    schools = SchoolRange(shard.school_lo, shard.school_hi)
    report = sweep_schools(now=now, schools=schools, batch_size=batch_size)
    with transaction.atomic():
        # Under the run's lock: of shards finishing at once, exactly one sees none left.
        SweepRun.objects.select_for_update().filter(pk=shard.run_id).first()
        marked = SweepShard.objects.filter(pk=shard_id, done_at__isnull=True).update(
            done_at=timezone.now(), report=report.as_dict()
        )
        last = marked and not SweepShard.objects.filter(run_id=shard.run_id, done_at__isnull=True).exists()
        if last:
            run_id = shard.run_id
            transaction.on_commit(lambda: _send(CLOSE_TASK, run_id, _close_here))
    logger.info("sweep shard %s %s as of %s: %s", shard.number, schools, now.isoformat(), report.as_dict())
    return report.as_dict()


def sweep_run_close(*, run_id: int) -> dict | None:
    """The closing step of a run whose shards are all done, once; None when there is nothing to do."""
    # Claimed first: a second message for the same run finds it closed. Digests are mailed outside any
    # transaction (each recipient's notifications are claimed before the mail goes), as in one process.
    closed_at = timezone.now()
    claimed = (
        SweepRun.objects.filter(pk=run_id, closed_at__isnull=True)
        .exclude(shards__done_at__isnull=True)
        .update(closed_at=closed_at)
    )
    if not claimed:
        return None
    run = SweepRun.objects.get(pk=run_id)
    report = SweepReport(now=run.now)
    for shard_report in run.shards.values_list("report", flat=True):
        report += SweepReport.from_dict(shard_report)
    report += sweep_close(now=run.now)
    SweepRun.objects.filter(pk=run_id).update(report=report.as_dict())
    logger.info("sweep as of %s (%s shards): %s", run.now.isoformat(), run.shard_count, report.as_dict())
    return report.as_dict()
