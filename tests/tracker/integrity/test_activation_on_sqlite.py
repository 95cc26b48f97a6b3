"""Activation counts what it created on SQLite too (the embedded demo's database), where Python's sqlite3
reports no row count for an INSERT that starts with WITH: run for real, in a fresh SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import json
from datetime import date, timedelta
from decimal import Decimal
from django.utils import timezone
from tracker import models as m
from tracker.assessment.cycle_services import criterion_create, cycle_activate, cycle_create
from tracker.integrity.campaign_services import campaign_activate, campaign_create

now = timezone.now()
bureau = m.Unit.objects.create(name="B", code="B", kind="authority")
for n in range(3):
    m.Unit.objects.create(name=f"S{n}", code=f"S{n}", kind="school", parent=bureau)
for code in ("M1", "M2"):
    m.ListItem.objects.create(unit=bureau, list="micro_power", code=code, title=code)
due = now + timedelta(days=9)
campaign = campaign_create(actor=None, authority=bureau, title="c", lists=["micro_power"], due_at=due)
counts = [campaign_activate(actor=None, campaign=campaign), campaign_activate(actor=None, campaign=campaign)]
m.ListItem.objects.create(unit=bureau, list="micro_power", code="M3", title="M3")
counts.append(campaign_activate(actor=None, campaign=campaign))
cycle = cycle_create(actor=None, authority=bureau, name="y", starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
criterion_create(actor=None, cycle=cycle, code="C1", title="t", category="c", due_at=now + timedelta(days=9),
                 max_score=Decimal(5))
counts += [cycle_activate(actor=None, cycle=cycle), cycle_activate(actor=None, cycle=cycle)]
print(json.dumps({"counts": counts, "checks": m.Check.objects.count(), "tasks": m.Task.objects.count()}))
"""


def test_activations_count_what_they_created_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_", "PYTEST"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", QINGLIAN_VAR_DIR=str(tmp_path))
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    done = subprocess.run(
        [*manage, "shell", "-v0", "-c", SCRIPT],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (tmp_path / "db.sqlite3").exists()
    # 3 schools x 2 items; again nothing; then the new item for each school. A cycle: 3 tasks, then none.
    assert result == {"counts": [6, 0, 3, 3, 0], "checks": 9, "tasks": 3}
