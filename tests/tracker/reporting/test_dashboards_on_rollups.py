"""Every test of tests/tracker/reporting/test_dashboards.py again, with the dashboards reading the rollup
tables (CONTRACT section 10) instead of counting tasks: the same hand-computed numbers must come out.

The rollups are rebuilt once the province is built, as of a time before most deadlines (reads as of
NOW then add the edges passed in between) and as of one after them all (reads go back in time).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.tracker.reporting.test_dashboards import *  # noqa: F403 (the tests to run again)
from tests.tracker.reporting.test_dashboards import Province, build_province
from tracker import models as m
from tracker.monitoring.rollups import rollups_rebuild


@pytest.fixture(params=[datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)], ids=["early", "late"])
def province(db, request) -> Province:
    built = build_province()
    rollups_rebuild(now=request.param)
    assert not m.RollupDirty.objects.exists()  # every school is read from its row
    return built
