"""The dirty schools' counting query, compiled once per round: the same SQL and parameters as compiling
it at each `now`, whatever the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.tracker.reporting.test_dashboards import NOW, build_province
from tracker.monitoring import rollup_reads
from tracker.monitoring.rollup_models import RoundKind
from tracker.monitoring.rollups import rules_key

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "now", [NOW, NOW + timedelta(days=3, hours=5, microseconds=17), datetime(2031, 7, 9, 23, 59, tzinfo=UTC)]
)
def test_the_dirty_counts_query_compiled_once_equals_one_compiled_at_now(db, now):
    province = build_province()
    kind, round_id = RoundKind.CYCLE, province.cycle.pk

    held = rollup_reads._dirty_counts_sql(kind, round_id, now)

    assert rollup_reads._compiled[(kind, round_id, rules_key())] is not None  # it was compiled once and kept
    sql, params = rollup_reads._dirty_counts_compiled(kind, round_id, now)
    assert held == (sql, list(params))
    assert any(isinstance(param, datetime) for param in params)  # `now` is in it
