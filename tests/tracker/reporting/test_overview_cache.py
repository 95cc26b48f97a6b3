"""The overview's document is reused between requests only while it is exactly what would be built:
same rollup rows, no dirty school, same flags, criteria and units, and no deadline passed in between."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tracker.reporting.test_dashboards import K2_DUE, NOW, build_province
from tracker import models as m
from tracker.assessment.task_services import task_submit
from tracker.monitoring.rollups import rollups_flush, rollups_rebuild
from tracker.reporting.overview import overview_schools, overview_units

pytestmark = pytest.mark.django_db


@pytest.fixture
def province(db):
    built = build_province()
    rollups_rebuild(now=NOW)
    return built


def document(p, now=NOW):
    overview = overview_schools(cycle=p.cycle, roots=(p.province.pk,), now=now)
    return overview.totals_json, overview.rows_json


def built_fresh(p, now=NOW):
    """The same document built from the database (the cached one set aside)."""
    cache.clear()
    return document(p, now)


def test_an_unchanged_overview_is_served_from_one_query(province):
    first = document(province)
    with CaptureQueriesContext(connection) as queries:
        again = document(province)
    assert again == first
    assert len(queries) == 1
    assert "tracker_schoolrollup" not in queries[0]["sql"]


def test_a_task_written_since_is_never_served_from_the_cache(province):
    document(province)
    before = document(province)
    task = m.Task.objects.get(cycle=province.cycle, school=province.s1, criterion=province.k3)
    m.Criterion.objects.filter(pk=task.criterion_id).update(min_evidence=0)
    task_submit(task=task, actor=province.s1_user, now=NOW)

    assert document(province) != before
    assert document(province) == built_fresh(province)
    rollups_flush(now=NOW)
    assert document(province) == built_fresh(province)


def test_flags_units_and_criteria_changes_are_seen(province):
    before = document(province)
    m.Flag.objects.filter(cycle=province.cycle, school=province.s3).update(severity="warning")
    after_flag = document(province)
    assert after_flag != before and after_flag == built_fresh(province)

    m.Unit.objects.filter(pk=province.s4.pk).update(name="S4 renamed")
    assert "S4 renamed" in document(province)[1]

    m.Criterion.objects.filter(pk=province.k3.pk).update(max_score=11)
    assert document(province) == built_fresh(province)


def test_time_reuses_the_document_until_a_deadline_passes(province):
    document(province, NOW)
    quiet = NOW + timedelta(minutes=1)
    edges = m.RollupEdge.objects.filter(round_id=province.cycle.pk, at__gte=NOW, at__lt=quiet)
    assert not edges.exists()
    with CaptureQueriesContext(connection) as queries:
        assert document(province, quiet) == document(province, NOW)
    assert len(queries) == 2  # one token query per call, no build

    before_k2 = K2_DUE - timedelta(days=1)
    assert document(province, before_k2) == built_fresh(province, before_k2)
    assert document(province, before_k2) != document(province, NOW)


def test_each_scope_has_its_own_document(province):
    schools = overview_schools(cycle=province.cycle, roots=(province.d11.pk,), now=NOW).rows
    cities = overview_units(cycle=province.cycle, unit=province.province, now=NOW).rows
    everyone = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW).rows

    assert [row["school"]["name"][:2] for row in schools] == ["S1", "S2"]
    assert {row["unit"]["name"] for row in cities} == {"Zhoushan City", "Ningbo City"}
    assert len(everyone) == 5
