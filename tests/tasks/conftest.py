"""Real servers and processes for the Celery tests: a redis-server of our own (so a test may stop
and restart it), and `celery -A config worker` / `celery -A config beat` subprocesses on the
pytest-django test database. Tests using them commit their data (transaction=True)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, port: int, workdir: Path, *, appendonly: bool = False) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.workdir = workdir
        # Production keeps the queue across restarts (compose: --appendonly yes); the fault tests try both.
        self.appendonly = appendonly
        self.process: subprocess.Popen | None = None

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        binary = os.environ.get("TEST_REDIS_SERVER") or shutil.which("redis-server")
        assert binary, "redis-server is not installed (bin/test installs it)"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._ping, timeout=10, what=f"redis on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
        wait_for(lambda: not self._ping(), timeout=5, what="redis to stop")


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


def broker_reconnect() -> None:
    """Drop this process's pooled broker connections (after a Redis restart they are dead)."""
    from kombu import pools

    from config.celery import app

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(redis_server, monkeypatch) -> Iterator[str]:
    """Point this process's Celery app (what tracker sends with) at our Redis, and back after."""
    from config.celery import app

    # Celery reads CELERY_BROKER_URL from the environment before its own configuration (bin/test
    # sets it to the suite's shared Redis), so the environment must point at our server too.
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = redis_server.url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    broker_reconnect()
    yield redis_server.url
    app.conf.broker_url, app.conf.broker_transport_options = saved
    broker_reconnect()


def database_url() -> str:
    s = connection.settings_dict
    assert connection.vendor == "postgresql", "the Celery integration tests run on PostgreSQL"
    user = quote(s["USER"] or "", safe="")
    password = quote(s["PASSWORD"] or "", safe="")
    return f"postgres://{user}:{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class CeleryProcess:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [CELERY, "-A", "config", *args],
            cwd=ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.handle.close()


@pytest.fixture
def celery_env(broker, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=database_url(),
        DATABASE_CONN_MAX_AGE="0",
        CELERY_BROKER_URL=broker,
        # django-environ drops one leading slash of a filemail path: four make it absolute.
        EMAIL_URL=f"filemail:///{tmp_path / 'mail'}",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
        WEBHOOK_RETRY_BASE_SECONDS="0.2",
        WEBHOOK_RETRY_MAX_SECONDS="1",
        EVENT_RELAY_GRACE_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def start_celery(celery_env, tmp_path) -> Iterator[Callable[..., CeleryProcess]]:
    started: list[CeleryProcess] = []

    def start(kind: str) -> CeleryProcess:
        if kind == "worker":
            args = [
                "worker",
                "-P",
                "solo",
                "--loglevel=INFO",
                "-n",
                f"test-{os.getpid()}@%h",
                "--without-mingle",
                "--without-gossip",
            ]
            ready = " ready."
        else:
            schedule = tmp_path / "beat-schedule"
            args = ["beat", "--loglevel=INFO", "--max-interval", "1", "-s", str(schedule)]
            args += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
            ready = "beat: Starting"
        process = CeleryProcess(args, celery_env, tmp_path / f"{kind}-{len(started)}.log")
        started.append(process)
        wait_for(
            lambda: ready in process.text() or process.process.poll() is not None, timeout=30, what=f"celery {kind}"
        )
        assert process.process.poll() is None, process.text()[-3000:]
        return process

    yield start
    for process in reversed(started):
        process.stop()


# The fault tests' fixtures (broker_view, fault_env, spawn) live in fault_support.py, which builds on
# the ones above; imported last, so that module can import this one.
from .fault_support import broker_view, fault_env, spawn  # noqa: E402, F401
