"""After a unit or criterion change has committed, the worker makes the kept overview parts ready again
(tracker.reporting.handlers; the rollup rebuild command too): the next reader is served what was warmed,
exactly, without reading the tree's facts or building in full itself."""

from __future__ import annotations

import io
import logging
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from tests.factories import CriterionFactory, CycleFactory, MembershipFactory, SchoolFactory, UnitFactory
from tests.tracker.reporting import test_overview_cut
from tests.tracker.reporting.test_dashboards import K1_DUE, NOW
from tests.tracker.reporting.test_overview_cut import assert_cut_exact, facts_read, read_as_authority
from tests.tracker.reporting.test_overview_patch import fresh, how_served, nothing_kept
from tracker import models as m
from tracker.assessment.cycle_services import criterion_update, cycle_activate
from tracker.audit.dispatch import event_handle
from tracker.org.services import unit_update
from tracker.reporting import handlers
from tracker.reporting.overview import overview_schools

pytestmark = pytest.mark.django_db


province = test_overview_cut.province  # the fixture: the five schools, their rollups rebuilt, nothing kept


def handled(capture, write) -> None:
    """Run `write`, then its events' handlers as the worker does, with what they queue after commit."""
    before = m.EventDispatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    write()
    pending = list(m.EventDispatch.objects.filter(pk__gt=before).values_list("pk", flat=True))
    assert pending
    with capture(execute=True) as callbacks:
        for pk in pending:
            event_handle(event_id=pk)
    assert handlers.overviews_warm in callbacks


@freeze_time(NOW)
def test_a_school_renamed_through_the_service_is_warmed_before_anyone_reads(
    province, django_capture_on_commit_callbacks
):
    read_as_authority(province)
    handled(
        django_capture_on_commit_callbacks,
        lambda: unit_update(actor=province.province_supervisor, unit=province.s3, changes={"name": "A3 renamed"}),
    )
    # then the authority's document is kept as warmed, and a scope's cut reads no facts either
    with CaptureQueriesContext(connection) as queries:
        served, how = how_served(province, "province")
        assert how == "kept"
        assert how_served(province, "d12")[1] == "patched"
    assert facts_read(queries) == 0
    assert served == fresh(province, "province")
    assert "A3 renamed" in served[1]
    assert_cut_exact(province, ("city1", "d11", "d21"))


@freeze_time(NOW)
def test_a_school_moved_through_the_service_is_warmed(province, django_capture_on_commit_callbacks):
    read_as_authority(province)
    handled(
        django_capture_on_commit_callbacks,
        lambda: unit_update(actor=province.province_supervisor, unit=province.s1, changes={"parent": province.d12}),
    )
    assert how_served(province, "province")[1] == "kept"
    assert_cut_exact(province, ("d11", "d12", "city1", "city2"))


@freeze_time(NOW)
def test_a_criterion_edit_is_warmed_rather_than_built_on_a_request(province, django_capture_on_commit_callbacks):
    read_as_authority(province)
    criterion = province.k3
    handled(
        django_capture_on_commit_callbacks,
        lambda: criterion_update(
            actor=province.province_supervisor, criterion=criterion, changes={"max_score": Decimal("12")}, now=NOW
        ),
    )
    served, how = how_served(province, "province")
    assert how == "kept"
    assert served == fresh(province, "province")
    assert_cut_exact(province, ("city1", "d11", "d21"))


@freeze_time(NOW)
def test_the_rebuild_command_warms_the_kept_parts(province):
    read_as_authority(province)
    call_command("rollups_rebuild", stdout=io.StringIO())
    # the rows were reset (nothing could be patched): the parts were built again by the command
    served, how = how_served(province, "province")
    assert how == "kept"
    assert served == fresh(province, "province")
    assert_cut_exact(province, ("city1", "d11", "d21"))


def test_only_cycles_whose_parts_are_kept_are_warmed_and_a_failure_is_only_logged(province, monkeypatch, caplog):
    # nothing kept: warming reads nothing
    with CaptureQueriesContext(connection) as queries:
        handlers.overviews_warm()
    assert not any("tracker_schoolrollup" in q["sql"] for q in queries)

    read_as_authority(province)

    def failing(**kwargs):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(handlers, "overview_schools", failing)
    with caplog.at_level(logging.ERROR, logger="tracker.reporting.handlers"):
        handlers.overviews_warm()
    assert "warming the overviews failed" in caplog.text


@freeze_time(NOW)
def test_the_scopes_read_lately_are_cut_and_kept_when_the_parts_are_warmed(
    province, django_capture_on_commit_callbacks
):
    # given a district's and a city's documents read (cut from the cycle's parts and kept)
    read_as_authority(province)
    assert how_served(province, "d11")[1] == "patched"
    assert how_served(province, "city1")[1] == "patched"

    # when a school of the district is renamed through the service and its events handled
    handled(
        django_capture_on_commit_callbacks,
        lambda: unit_update(actor=province.province_supervisor, unit=province.s1, changes={"name": "A1 renamed"}),
    )
    # then their readers find their documents kept, exact; a scope nobody read is still cut on its request
    for scope in ("d11", "city1"):
        served, how = how_served(province, scope)
        assert how == "kept", scope
        assert served == fresh(province, scope), scope
    assert "A1 renamed" in how_served(province, "d11")[0][1]
    assert how_served(province, "d12")[1] == "patched"


@freeze_time(NOW)
def test_a_cycle_activated_has_its_parts_built_by_the_worker_before_anyone_reads(
    db, django_capture_on_commit_callbacks
):
    bureau = UnitFactory()
    supervisor = MembershipFactory(unit=bureau).user
    for _ in range(3):
        SchoolFactory(parent=bureau)
    cycle = CycleFactory(authority=bureau)
    for _ in range(2):
        CriterionFactory(cycle=cycle, due_at=K1_DUE)
    before = m.EventDispatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    # when the cycle is activated and its events handled as the worker does, with what they queue after commit
    cycle_activate(actor=supervisor, cycle=cycle, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        for pk in m.EventDispatch.objects.filter(pk__gt=before).values_list("pk", flat=True):
            event_handle(event_id=pk)

    # then its first reader is served the document the worker kept, equal to a full build
    with CaptureQueriesContext(connection) as queries:
        served = overview_schools(cycle=cycle, roots=[bureau.pk], now=NOW)
    sql = " ".join(q["sql"] for q in queries)
    assert "CROSS JOIN sums" not in sql and "r.generation >" not in sql  # neither built nor patched: kept
    with nothing_kept():
        built = overview_schools(cycle=cycle, roots=[bureau.pk], now=NOW)
    assert (served.totals_json, served.rows_json) == (built.totals_json, built.rows_json)
    assert len(served.rows) == 3
