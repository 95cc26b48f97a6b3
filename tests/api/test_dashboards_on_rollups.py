"""Every test of tests/api/test_dashboards.py again, with the rollups rebuilt once the province is built:
the overview, the criteria view and the exports over HTTP read the rollup rows (CONTRACT section 10), so
the scope rules (a district supervisor sees only their district; a unit out of scope is a 404) are held
on the rows too, not only on the task scan. Plus the criteria view's scope read over HTTP from the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import api.exports  # noqa: F401 (openpyxl keys its time formats by the datetime classes at its import: not freezegun's)
from tests.api.test_dashboards import *  # noqa: F403 (the tests to run again)
from tests.api.test_dashboards import CRITERIA, get
from tests.tracker.reporting.test_dashboards import Province, build_province
from tracker import models as m
from tracker.monitoring.rollups import rollups_rebuild

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def province(db) -> Province:
    built = build_province()
    rollups_rebuild(now=datetime(2026, 1, 10, tzinfo=UTC))
    assert m.CriterionRollup.objects.exists() and not m.RollupDirty.objects.exists()
    return built


def test_a_district_supervisor_reads_only_their_districts_criterion_rows(province, client_for):
    # given: every school's criterion rows built, and a write in another district (S4, Haishu) after them
    m.Task.objects.filter(school=province.s4, criterion=province.k3).update(status=m.TaskStatus.SUBMITTED)

    # when
    own = get(client_for, province.d11_supervisor, CRITERIA, cycle=province.cycle.pk).json()["criteria"]
    city = get(client_for, province.city2_supervisor, CRITERIA, cycle=province.cycle.pk).json()["criteria"]
    other = get(client_for, province.d11_supervisor, CRITERIA, cycle=province.cycle.pk, unit=province.d21.pk)

    # then: Putuo's two schools only (S1, S2); Ningbo's S4 (Haishu) and S5 (directly under the city)
    assert [(row["tasks"], row["approved"], row["submitted"]) for row in own] == [(2, 1, 1), (2, 1, 0), (2, 0, 0)]
    assert [(row["tasks"], row["approved"], row["submitted"]) for row in city] == [(2, 1, 0), (2, 1, 0), (2, 0, 1)]
    assert other.status_code == 404
