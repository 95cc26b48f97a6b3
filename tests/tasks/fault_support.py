"""Fault injection for the Celery tests (tests/tasks/test_faults_*.py), on top of conftest.py's Redis
server and Celery subprocesses:

- workers with Celery's real prefork pool (the production default), named, several at once, which a
  test may SIGKILL or SIGTERM, whole or one pool process, and whose logs it reads;
- a short broker visibility timeout, scanned every second, so a lost message comes back in seconds;
- a row lock held from outside the application, which keeps a task "mid-task" (its handler waits on
  the lock inside its transaction) for as long as the test wants;
- a loopback webhook receiver that holds its answers until released;
- a look into Redis: messages queued and messages delivered but not acknowledged.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from tracker import models as m
from tracker.assessment.task_services import task_submit
from tracker.models import EventDispatch

from .conftest import CeleryProcess, broker_reconnect, wait_for

# Seconds a delivered message may stay unacknowledged before Redis hands it to another worker.
VISIBILITY_TIMEOUT = 4
QUEUE = "celery"

schedule_migration = importlib.import_module("tasks.migrations.0001_periodic_tasks")


# --- Celery processes -----------------------------------------------------------------------------
class Celery(CeleryProcess):
    """A worker or beat subprocess, and what its log says."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, name: str) -> None:
        super().__init__(args, env, log)
        self.name = name

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def children(self) -> list[int]:
        """The live pool processes of a prefork worker (what `ps --ppid` lists, read from /proc)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if fields[1] == str(self.pid) and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return sorted(found)

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.text()))

    def task_ids(self, task: str, what: str = "received") -> list[str]:
        return re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]+)\] {what}", self.text())

    def results(self, task: str) -> list[str]:
        """What each successful run of the task returned, in order (`succeeded in 0.1s: True`)."""
        return re.findall(rf"Task {re.escape(task)}\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: (.*)", self.text())

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the main process only (not its process group), as `kill -9 <pid>` does."""
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)


class Spawner:
    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.started: list[Celery] = []

    def _start(self, args: list[str], name: str, ready: str) -> Celery:
        process = Celery(args, self.env, self.tmp_path / f"{name}-{len(self.started)}.log", name)
        self.started.append(process)
        wait_for(lambda: ready in process.text() or not process.alive(), timeout=60, what=f"celery {name}")
        assert process.alive(), process.text()[-3000:]
        return process

    def worker(self, name: str = "worker", *, pool: str = "prefork", concurrency: int = 1) -> Celery:
        args = [
            "worker",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "--loglevel=INFO",
            "-n",
            f"{name}-{os.getpid()}-{len(self.started)}@%h",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
        return self._start(args, name, " ready.")

    def beat(self, name: str = "beat") -> Celery:
        schedule = self.tmp_path / f"{name}-{len(self.started)}-schedule"
        args = ["beat", "--loglevel=INFO", "--max-interval", "1", "-s", str(schedule)]
        args += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
        return self._start(args, name, "beat: Starting")

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()


@pytest.fixture
def fault_env(celery_env) -> dict[str, str]:
    env = dict(celery_env)
    env.update(
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        CELERY_UNACKED_RESTORE_THROTTLE="1",
        # A receiver that holds its answer is slow, not down: let the worker wait for it.
        WEBHOOK_TIMEOUT_SECONDS="60",
    )
    return env


@pytest.fixture
def spawn(fault_env, tmp_path) -> Iterator[Spawner]:
    spawner = Spawner(fault_env, tmp_path)
    yield spawner
    spawner.stop_all()


# --- The broker, seen from outside ----------------------------------------------------------------
class Broker:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5)

    def queued(self) -> int:
        return self.client.llen(QUEUE)

    def unacked(self) -> dict[str, float]:
        """Delivery tag -> when it was delivered (epoch seconds), for messages not acknowledged yet."""
        return {tag.decode(): score for tag, score in self.client.zrange("unacked_index", 0, -1, withscores=True)}

    def unacked_tasks(self) -> list[str]:
        """The Celery task ids of the delivered, unacknowledged messages."""
        ids = []
        for raw in self.client.hvals("unacked"):
            message = json.loads(raw)[0]
            ids.append(message["headers"]["id"])
        return ids

    def flush(self) -> None:
        self.client.flushdb()


@pytest.fixture
def broker_view(broker) -> Broker:
    """Also: this process publishes with production's Redis options (conftest's `broker` fixture
    keeps only a visibility timeout, so a publish to a stopped Redis would retry for seconds)."""
    from config.celery import app

    app.conf.broker_transport_options = dict(settings.REDIS_TRANSPORT_OPTIONS)
    broker_reconnect()
    return Broker(broker)


def quiesce(broker_view: Broker) -> None:
    """Forget what the fixtures' own changes queued: a test starts with no pending side effects."""
    EventDispatch.objects.filter(done_at__isnull=True).update(done_at=timezone.now())
    broker_view.flush()


# --- Holding a task mid-task ----------------------------------------------------------------------
class RowLock:
    """A row locked FOR UPDATE by a connection of our own, outside the application, until released."""

    def __init__(self, table: str, pk: int) -> None:
        s = connection.settings_dict
        self.conn = psycopg.connect(
            host=s["HOST"] or "127.0.0.1",
            port=s["PORT"] or 5432,
            dbname=s["NAME"],
            user=s["USER"],
            password=s["PASSWORD"],
            autocommit=False,
        )
        self.conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk]).fetchall()

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.commit()
            self.conn.close()


def waiting_on(table: str) -> int:
    """How many database sessions are waiting for a lock in a statement that reads `table`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE %s",
            [f'%FROM "{table}"%'],
        )
        return cursor.fetchone()[0]


# --- A webhook receiver that answers when told -----------------------------------------------------
class HoldingReceiver:
    """Loopback HTTP server: records every POST, answers 200 once released (at once if not held)."""

    def __init__(self, *, hold: bool = False) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.gate = threading.Event()
        if not hold:
            self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                receiver.gate.wait(timeout=120)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def release(self) -> None:
        self.gate.set()

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.requests]

    def __enter__(self) -> HoldingReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


# --- Beat's schedule, fast --------------------------------------------------------------------------
def schedule_fast(every_seconds: dict[str, float]) -> None:
    """The schedule `migrate` makes, with the given tasks every N seconds and every other one disabled."""
    schedule_migration.create_schedule(apps, None)
    for task in PeriodicTask.objects.exclude(task__in=list(every_seconds)):
        task.enabled = False
        task.save(update_fields=["enabled"])
    for name, seconds in every_seconds.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        updated = PeriodicTask.objects.filter(task=name).update(interval=interval, crontab=None, enabled=True)
        assert updated == 1, name
    PeriodicTasks.update_changed()


def until(predicate: Callable[[], object], *, timeout: float, what: str) -> object:
    return wait_for(predicate, timeout=timeout, what=what, every=0.1)


def elapsed(since: float) -> float:
    return round(time.monotonic() - since, 1)


# --- The scenario of items 1, 2, 3, 4 and 6: a school submits while behind (tests.factories) ---------
HANDLE = "tracker.handle_event"


def submit_then_lock(district, task: m.Task) -> tuple[RowLock, m.Event]:
    """The school submits (its event waits in the queue), then we lock the school's cycle row: the
    handler of that event will stop there, mid-task, once a worker takes it. (A transition locks its
    cycle row too, so the lock is taken after the submission commits.)"""
    task_submit(task=task, actor=district.school_a_user)
    event = m.Event.objects.get(type="task.submitted", task=task)
    return RowLock("tracker_cycle", district.cycle.pk), event


def mid_task() -> None:
    until(lambda: waiting_on("tracker_cycle") == 1, timeout=30, what="the handler to be mid-task")


def assert_handled_once(event: m.Event, flag: m.Flag) -> None:
    """The submission's side effect (the school's flag resolved) happened, and only once."""
    dispatch = m.EventDispatch.objects.get(event=event)
    assert dispatch.done_at is not None
    # attempts counts the runs that committed: a killed run left nothing behind.
    assert dispatch.attempts == 1
    flag.refresh_from_db()
    assert flag.resolved_at is not None
    assert m.Event.objects.filter(type="flag.resolved", subject_id=str(flag.pk)).count() == 1
    assert m.Flag.objects.filter(school=flag.school, cycle=flag.cycle).count() == 1


def wait_done(event: m.Event, *, timeout: float = 40) -> None:
    until(
        lambda: m.EventDispatch.objects.filter(event=event, done_at__isnull=False).exists(),
        timeout=timeout,
        what="the event's side effects to be done",
    )


def alive(pid: int) -> bool:
    """A process that still runs (a zombie has exited)."""
    try:
        with Path(f"/proc/{pid}/stat").open() as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
