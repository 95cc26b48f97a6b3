"""The overview over HTTP after a write: a kept document patched for one scope never carries another
scope's schools (CONTRACT section 10; scope leaks are the worst bug)."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from tests.tracker.reporting.test_dashboards import NOW, Province, build_province
from tracker import models as m
from tracker.assessment.task_services import task_submit
from tracker.monitoring.rollups import rollups_flush, rollups_rebuild

pytestmark = pytest.mark.django_db

OVERVIEW = "/api/v1/dashboards/overview/"


@pytest.fixture
def province(db) -> Province:
    built = build_province()
    rollups_rebuild(now=NOW)
    return built


def schools_seen(client, cycle) -> list[int]:
    response = client.get(OVERVIEW, {"cycle": cycle.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["totals"]["schools"] == len(body["schools"])
    return sorted(row["school"]["id"] for row in body["schools"])


@freeze_time(NOW)
def test_a_district_supervisor_never_gets_another_districts_rows_from_a_kept_or_patched_document(province, client_for):
    district = client_for(province.d11_supervisor)
    whole = client_for(province.province_supervisor)
    own = sorted([province.s1.pk, province.s2.pk])
    everyone = sorted([province.s1.pk, province.s2.pk, province.s3.pk, province.s4.pk, province.s5.pk])
    # given both scopes' documents built and kept, the province's first
    assert schools_seen(whole, province.cycle) == everyone
    assert schools_seen(district, province.cycle) == own
    assert schools_seen(district, province.cycle) == own  # kept

    # when a school of another district is written, then flushed (each read patches the kept document)
    task = m.Task.objects.get(cycle=province.cycle, school=province.s4, criterion=province.k3)
    m.Criterion.objects.filter(pk=province.k3.pk).update(min_evidence=0)
    task_submit(task=task, actor=province.province_supervisor, now=NOW)
    assert schools_seen(whole, province.cycle) == everyone
    assert schools_seen(district, province.cycle) == own
    rollups_flush(now=NOW)
    assert schools_seen(whole, province.cycle) == everyone

    # then the district still sees its own two schools, and the province all five
    assert schools_seen(district, province.cycle) == own
    assert schools_seen(whole, province.cycle) == everyone
