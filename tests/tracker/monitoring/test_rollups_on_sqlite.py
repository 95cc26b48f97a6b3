"""The rollups on SQLite (the embedded demo's database): its row triggers mark dirty schools, the edges
are computed in Python with SQLite's whole-second early-warning rule, and `rollups_diff` finds the rows,
the edges and the reads equal to a recount; run for real, in a fresh SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import json
from datetime import date, datetime, timedelta, UTC
from decimal import Decimal
from tracker import models as m
from tracker.assessment.cycle_services import criterion_create, cycle_activate, cycle_create
from tracker.assessment.task_services import task_progress, task_submit
from tracker.monitoring.rollup_verify import rollups_diff
from tracker.monitoring.rollups import rollups_rebuild, rollups_flush
from tracker.monitoring.sweep import sweep_run
from tracker.reporting.overview import overview_schools

t0 = datetime(2026, 3, 2, 8, 0, 0, 500000, tzinfo=UTC)
day = timedelta(days=1)
bureau = m.Unit.objects.create(name="B", code="B", kind="authority")
schools = [m.Unit.objects.create(name=f"S{n}", code=f"S{n}", kind="school", parent=bureau) for n in range(3)]
cycle = cycle_create(actor=None, authority=bureau, name="y", starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
for n, due in enumerate((t0 - 2 * day, t0 + 3 * day, t0 + 20 * day)):
    criterion_create(actor=None, cycle=cycle, code=f"C{n}", title="t", category="c", due_at=due,
                     max_score=Decimal(5), min_evidence=0)
cycle_activate(actor=None, cycle=cycle, now=t0 - 30 * day)
marked = m.RollupDirty.objects.count()
rollups_rebuild(now=t0)
tasks = list(m.Task.objects.order_by("due_at", "id"))
task_progress(task=tasks[3], actor=None, progress=10, now=t0 - 5 * day)
task_submit(task=tasks[4], actor=None, now=t0 + day)
m.Task.objects.filter(pk=tasks[0].pk).update(note="by hand")
dirty = m.RollupDirty.objects.count()
schools[2].parent = m.Unit.objects.create(name="B2", code="B2", kind="authority", parent=bureau)
schools[2].save()  # a school moves to a unit under the bureau: the unit trigger marks its old and new block
moved = m.RollupBlockDirty.objects.count()
moments = [t0 - 40 * day, t0, t0 + 2 * day, t0 + 3 * day, t0 + 10 * day, t0 + 40 * day]
moments += [at + d for at in m.RollupEdge.objects.values_list("at", flat=True)
            for d in (timedelta(0), timedelta(microseconds=1), timedelta(seconds=1))]
diffs = [rollups_diff(now=now) for now in moments]
flushed = rollups_flush(now=t0)
sweep_run(now=t0 + 4 * day)
diffs += [rollups_diff(now=now) for now in moments]
print(json.dumps({"marked": marked, "dirty": dirty, "moved": moved, "flushed": flushed,
                  "moved_after_flush": m.RollupBlockDirty.objects.count(), "diffs": sorted(set(map(str, diffs))),
                  "overdue": overview_schools(cycle=cycle, roots=[bureau.pk], now=t0 + 4 * day).totals["overdue"]}))
"""


def test_rollups_are_exact_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_", "PYTEST"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", QINGLIAN_VAR_DIR=str(tmp_path))
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    done = subprocess.run(
        [*manage, "shell", "-v0", "-c", SCRIPT],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (tmp_path / "db.sqlite3").exists()
    # 3 schools marked by activation; 2 schools written after the rebuild (one of them twice); a school
    # moved to a unit under the bureau marks 2 blocks (left and joined), which the flush clears; every
    # recount (per-school and per-criterion rows, edges, reads of the round and of each unit) equal; at
    # t0 + 4 days the first two criteria are past due for every school but the one submitted task:
    # 3 + 2 = 5 overdue.
    assert result == {
        "marked": 3,
        "dirty": 2,
        "moved": 2,
        "flushed": 2,
        "moved_after_flush": 0,
        "diffs": ["None"],
        "overdue": 5,
    }
