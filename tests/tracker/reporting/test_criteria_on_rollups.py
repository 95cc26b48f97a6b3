"""The criteria view read from the criterion rollups (CRITERION x block of a unit's schools): equal to the
task scan for every kind of scope, exact while a school is dirty, and when a school moves to another unit
(before and after the flush)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.tracker.reporting.test_dashboards import NOW, build_province
from tracker import models as m
from tracker.assessment.task_services import task_progress
from tracker.monitoring.rollup_verify import rollups_diff
from tracker.monitoring.rollups import rollups_flush, rollups_rebuild
from tracker.org.services import unit_update
from tracker.reporting.school import criteria_overview

pytestmark = pytest.mark.django_db

BUILT = datetime(2026, 1, 10, tzinfo=UTC)


def scopes(p) -> list[tuple[int, ...]]:
    return [
        (p.province.pk,),  # the cycle's authority: every row of the round
        (p.city1.pk,),
        (p.d11.pk,),
        (p.empty_district.pk,),
        (p.s5.pk,),  # a school as a root: its unit (Ningbo) is not under it
        (p.d21.pk, p.s1.pk),  # a district and a school of another district
        (p.d11.pk, p.s1.pk),  # a school under a root already: counted once
    ]


def counts(rows) -> list[tuple]:
    return [
        (row["criterion"]["code"], row["tasks"], row["submitted"], row["in_progress"], row["average_score"])
        for row in rows
    ]


def test_the_criteria_view_from_the_rows_equals_the_task_scan_for_every_scope():
    p = build_province()
    assert not m.RollupClock.objects.exists()  # no rollups yet: the view counts the tasks
    moments = (NOW, BUILT - timedelta(days=3), datetime(2026, 9, 1, tzinfo=UTC))
    scanned = {
        (roots, now): criteria_overview(cycle=p.cycle, roots=roots, now=now) for roots in scopes(p) for now in moments
    }

    rollups_rebuild(now=BUILT)

    assert m.CriterionRollup.objects.filter(round_id=p.cycle.pk).exists()
    assert not m.RollupDirty.objects.exists() and not m.RollupBlockDirty.objects.exists()
    for (roots, now), rows in scanned.items():
        assert criteria_overview(cycle=p.cycle, roots=roots, now=now) == rows, (roots, now)
    # the two scopes over the same schools give the same numbers: S1 once
    assert scanned[((p.d11.pk, p.s1.pk), NOW)] == scanned[((p.d11.pk,), NOW)]


def test_a_dirty_school_is_counted_from_its_tasks_until_the_flush():
    p = build_province()
    rollups_rebuild(now=BUILT)

    # S2's K2 (not started) is started after the rows were counted: its block is stale
    task_progress(task=p.task(p.s2, p.k2), actor=p.s1_user, progress=30, now=NOW)
    assert m.RollupDirty.objects.filter(school_id=p.s2.pk).exists()
    read = criteria_overview(cycle=p.cycle, roots=(p.province.pk,), now=NOW)
    district = criteria_overview(cycle=p.cycle, roots=(p.d11.pk,), now=NOW)

    assert counts(read)[1] == ("K2", 5, 0, 1, 13.67)
    assert counts(district)[1] == ("K2", 2, 0, 1, 15.0)
    assert rollups_diff(now=NOW) is None

    rollups_flush(now=NOW)

    assert not m.RollupDirty.objects.exists()
    assert criteria_overview(cycle=p.cycle, roots=(p.province.pk,), now=NOW) == read
    assert criteria_overview(cycle=p.cycle, roots=(p.d11.pk,), now=NOW) == district
    assert rollups_diff(now=NOW) is None


def test_a_school_moved_to_another_district_takes_its_counts_with_it():
    p = build_province()
    rollups_rebuild(now=BUILT)
    before = criteria_overview(cycle=p.cycle, roots=(p.province.pk,), now=NOW)

    # S1 (K1 approved 8) moves from Putuo (S1, S2) to Dinghai (S3): both blocks are marked in the move
    unit_update(actor=p.province_supervisor, unit=p.s1, changes={"parent": p.d12})

    assert set(m.RollupBlockDirty.objects.values_list("unit_id", flat=True)) == {p.d11.pk, p.d12.pk}
    for flushed in (False, True):
        putuo = criteria_overview(cycle=p.cycle, roots=(p.d11.pk,), now=NOW)
        dinghai = criteria_overview(cycle=p.cycle, roots=(p.d12.pk,), now=NOW)
        assert (putuo[0]["tasks"], putuo[0]["approved"], putuo[0]["average_score"]) == (1, 0, None), flushed
        assert (dinghai[0]["tasks"], dinghai[0]["approved"], dinghai[0]["average_score"]) == (2, 2, 9.0), flushed
        assert criteria_overview(cycle=p.cycle, roots=(p.province.pk,), now=NOW) == before
        assert rollups_diff(now=NOW) is None
        rollups_flush(now=NOW)
        assert not m.RollupBlockDirty.objects.exists()
