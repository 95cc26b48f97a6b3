"""The embedded demo: SQLite and the file-system broker, one `celery worker -B` process.

After `migrate` and `seed_demo` (a year already swept day by day: flags, reminders, urges), beat runs
the sweep by itself, without anyone running it by hand (the acceptance of the background-jobs issue).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_", "PYTEST"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", QINGLIAN_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    return env


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=20) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.mark.serial
@pytest.mark.integration
def test_demo_worker_and_beat_sweep_by_themselves_on_sqlite(tmp_path):
    env = _env(tmp_path)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    seeded = subprocess.run(
        [*manage, "seed_demo", "--if-empty"], env=env, cwd=ROOT, check=True, timeout=300, capture_output=True, text=True
    )
    assert "school01" in seeded.stdout
    db = tmp_path / "db.sqlite3"
    # the seeded year was swept as it was lived
    assert _count(db, "SELECT count(*) FROM tracker_flag WHERE resolved_at IS NULL") > 0
    assert _count(db, "SELECT count(*) FROM tracker_reminder") > 0
    runs = "SELECT total_run_count FROM django_celery_beat_periodictask WHERE task = 'tracker.sweep'"
    assert _count(db, runs) == 0

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-B",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "-s",
            str(tmp_path / "beat"),
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            # beat sent the sweep (its periodic task counts the run) and the worker ran it (it logs its report)
            if _count(db, runs) and "sweep as of" in (tmp_path / "worker.log").read_text():
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(1)
        else:
            raise AssertionError("no sweep after 120 s:\n" + (tmp_path / "worker.log").read_text()[-3000:])
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        log.close()
    assert _count(db, "SELECT count(*) FROM tracker_event WHERE type LIKE 'flag.%'") > 0
