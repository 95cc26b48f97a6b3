"""The sweep fanned out to real workers (CONTRACT section 10): `celery -A config worker` processes (prefork,
as in production) on a Redis of their own and the pytest-django PostgreSQL database.

- 1, 2 and 4 pool processes (one worker; two workers; two workers of two) share one sweep of the same
  district, cut into shards of 3 schools: every reminder the contract says is due is recorded once and
  notified once to each recipient, none is missed, one digest per recipient, and with two workers both
  took shards;
- a shard's pool process SIGKILLed mid-shard (blocked, after some of its batches committed, on a task
  row the test holds), and a whole worker `kill -9`ed there: the message comes back (at once; after the
  visibility timeout to another worker), the shard runs again, and nothing is lost or sent twice.

The reference is tests/tasks/sweep_oracle.py, the contract written as plain Python, at the run's `now`.
"""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import district_spread
from tracker import models as m
from tracker.enqueue import enqueue
from tracker.monitoring.school_ranges import school_ranges
from tracker.monitoring.shards import sweep_fan_out

from .fault_support import VISIBILITY_TIMEOUT, Spawner, alive, quiesce, until
from .sweep_oracle import Oracle, reached

pytestmark = [pytest.mark.serial, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHARD = "tracker.sweep_shard"
CLOSE = "tracker.sweep_close"
PER_SHARD = 3
SHARDING = {"TRACKER_SWEEP_SHARD_SCHOOLS": str(PER_SHARD), "TRACKER_SWEEP_BATCH_SIZE": "4"}


def mails_per_address(mail_dir: Path) -> Counter:
    """How many messages the workers' file back-end wrote to each address."""
    found: Counter = Counter()
    for path in mail_dir.glob("*"):
        found.update(re.findall(r"^To: (\S+)$", path.read_text(errors="replace"), flags=re.MULTILINE))
    return found


def closed_run() -> m.SweepRun:
    return until(
        lambda: m.SweepRun.objects.filter(closed_at__isnull=False).exclude(report={}).first(),
        timeout=60,
        what="the sweep's closing step",
    )


def assert_swept_once(run: m.SweepRun, oracle: Oracle, schools: list[int], mail_dir: Path) -> None:
    """The database holds what one sweep at the run's `now` records, each notified once; one digest each."""
    oracle.sweep(run.now)
    oracle.assert_matches_database(schools)
    assert m.Reminder.objects.exists()
    assert not m.SweepShard.objects.filter(run=run, done_at__isnull=True).exists()
    assert not m.Notification.objects.filter(emailed_at__isnull=True).exists()
    recipients = {f"{u}@example.org" for u in m.Notification.objects.values_list("recipient__username", flat=True)}
    assert mails_per_address(mail_dir) == Counter(recipients)


@pytest.fixture
def workers(celery_env, tmp_path):
    """Workers that keep a message as long as a shard takes (production's visibility timeout)."""
    spawner = Spawner({**celery_env, **SHARDING}, tmp_path)
    yield spawner
    spawner.stop_all()


@pytest.mark.parametrize("layout", [(1,), (1, 1), (2, 2)], ids=["1 process", "2 processes", "4 processes"])
def test_workers_share_a_sweep_and_every_reminder_goes_out_once(broker_view, district, workers, tmp_path, layout):
    # given a district of 28 schools (10 shards), reminders of every kind due, and the workers
    schools = district_spread(district, schools=25, now=timezone.now())
    oracle = Oracle.of(m.Task.objects.filter(cycle=district.cycle))
    quiesce(broker_view)
    started = [workers.worker(f"w{n}", concurrency=c) for n, c in enumerate(layout)]

    # when beat's task is sent
    assert enqueue("tracker.sweep")

    # then the run is cut into shards, each done once, and closed once
    run = closed_run()
    assert run.shard_count == len(school_ranges(per_shard=PER_SHARD)) == 10
    assert list(run.shards.values_list("attempts", flat=True)) == [1] * 10
    assert sum(len(w.results(SHARD)) for w in started) == 10
    assert sum(len(w.results(CLOSE)) for w in started) == 1
    # and every due reminder went out exactly once, none missed, one digest per recipient
    assert_swept_once(run, oracle, schools, tmp_path / "mail")
    assert run.report["reminders"] == m.Reminder.objects.count()
    if len(started) > 1:
        assert all(w.results(SHARD) for w in started), "a worker took no shard"


def waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def hold_row(table: str, pk: int) -> psycopg.Connection:
    s = connection.settings_dict
    held = psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"]
    )
    held.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk]).fetchall()
    return held


@pytest.mark.faults
@pytest.mark.parametrize("kill", ["pool process", "whole worker"])
def test_a_worker_killed_mid_shard_loses_nothing_and_sends_nothing_twice(
    broker_view, district, fault_env, tmp_path, settings, kill
):
    # given the district, its second shard's last due task held by the test, and one worker
    now = timezone.now()
    schools = district_spread(district, schools=12, now=now)
    oracle = Oracle.of(m.Task.objects.filter(cycle=district.cycle))
    second = school_ranges(per_shard=PER_SHARD)[1]
    in_shard = m.Task.objects.filter(second.q(), cycle=district.cycle).order_by("-id")
    held_task = next(t for t in in_shard if t.pk in oracle.tasks and reached(oracle.tasks[t.pk], now))
    quiesce(broker_view)
    spawn = Spawner({**fault_env, **SHARDING}, tmp_path)
    try:
        first = spawn.worker("first")
        held = hold_row("tracker_task", held_task.pk)

        # when the sweep runs, and the second shard stops on the held task after some batches committed
        settings.CELERY_TASK_ALWAYS_EAGER = False
        fan_out = sweep_fan_out(now=now, per_shard=PER_SHARD)
        until(waiting_for_a_lock, timeout=30, what="the second shard to be mid-shard")
        assert m.Reminder.objects.filter(task__in=in_shard).exists()
        received = first.task_ids(SHARD)
        assert len(received) == 2  # the first shard, done; the second, running (one message at a time)
        shard_task = received[1]
        shard = m.SweepShard.objects.get(run_id=fan_out.run_id, number=1)

        # and the worker is killed: one pool process, or the whole worker (kill -9 of its main process)
        [child] = first.children()
        if kill == "pool process":
            os.kill(child, signal.SIGKILL)
            until(lambda: first.task_ids(SHARD).count(shard_task) == 2, timeout=30, what="the redelivery")
            assert "WorkerLostError" in first.text()
            rerun_by = first
        else:
            first.kill(signal.SIGKILL)
            first.wait_exit(timeout=10)
            until(lambda: not alive(child), timeout=10, what="the pool process to die with it")
            rerun_by = spawn.worker("second")
            until(
                lambda: shard_task in rerun_by.task_ids(SHARD),
                timeout=VISIBILITY_TIMEOUT + 30,
                what="the redelivery to the second worker",
            )
        held.commit()
        held.close()

        # then the shard ran again, the run closed, and every reminder went out once, none missed
        run = closed_run()
        shard.refresh_from_db()
        assert shard.attempts == 2 and shard.done_at is not None
        assert list(run.shards.exclude(pk=shard.pk).values_list("attempts", flat=True)) == [1] * (run.shard_count - 1)
        assert_swept_once(run, oracle, schools, tmp_path / "mail")
        # (the run's report counts what the finishing runs sent: not the killed run's committed batches)
        assert 0 < run.report["reminders"] < m.Reminder.objects.count()
    finally:
        spawn.stop_all()
