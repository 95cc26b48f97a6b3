"""The clock that tests freeze (freezegun) and the modules a request imports: tests/conftest.py imports the
URLconf, and everything it reaches, before any test can freeze the clock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A process whose first request is made under a frozen clock, then an export made after the freeze.
PROBE = """
import django

django.setup()
{first}
from freezegun import freeze_time

with freeze_time("2026-04-01"):
    from api import exports  # what the first request imports (the URLconf reaches it)

column = exports.Column("due_at", lambda row: row["due_at"], exports.DATETIME)
sheet = exports.Sheet("Criteria", [column], [{{"due_at": "2026-04-30T23:59:00+08:00"}}], freeze="A2")
exports.xlsx_bytes([sheet])
"""


def probe(first: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(first=first)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_xlsx_export_after_a_frozen_first_request_writes_its_dates():
    # given what pytest imports before any test runs
    result = probe("import tests.conftest")

    assert result.returncode == 0, result.stderr[-3000:]


def test_openpyxl_first_imported_under_a_frozen_clock_cannot_write_a_real_date():
    """What the import in tests/conftest.py prevents: openpyxl keeps the classes it saw at import in its own
    table of date formats, and after the freeze a real datetime is not among them (the export answered 500).
    Should this stop failing, openpyxl or freezegun has changed and that import may go."""
    result = probe("")

    assert result.returncode != 0
    assert "ValueError: Could not get time format for None" in result.stderr
