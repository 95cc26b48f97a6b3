"""A kept overview patched with the schools that changed equals, byte for byte, a fresh full build: after a
task write (before and after its flush), a flag opened or resolved, a deadline passing, a sweep's advance,
an extension and a unit renamed or moved or a school added; and it is built in full again after a
criterion edit or a school's row gone. The parts are the cycle's, and every scope below its authority is
cut from them: a district never gets another's rows (tests/tracker/reporting/test_overview_cut.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.factories import SchoolFactory
from tests.tracker.reporting.test_dashboards import K2_DUE, NOW, build_province
from tracker import models as m
from tracker.assessment.task_services import task_approve, task_submit
from tracker.monitoring.rollups import rollups_advance, rollups_flush, rollups_rebuild
from tracker.reporting import overview_cache, overview_patch
from tracker.reporting.overview import overview_schools, overview_units, patch_chain
from tracker.reporting.overview_parts import totals_json

pytestmark = pytest.mark.django_db

SCOPES = ("province", "city1", "d11")  # the cycle's authority, and two callers below it


@pytest.fixture
def province(db):
    built = build_province()
    rollups_rebuild(now=NOW)
    return built


def document(p, scope: str, now=NOW) -> tuple[str, str]:
    overview = overview_schools(cycle=p.cycle, roots=(getattr(p, scope).pk,), now=now)
    return overview.totals_json, overview.rows_json


def units_document(p, unit: str, now=NOW) -> tuple[str, str]:
    overview = overview_units(cycle=p.cycle, unit=getattr(p, unit), now=now)
    return overview.totals_json, overview.rows_json


# A cache that keeps nothing: a full build, leaving what the real cache keeps as it was.
NO_CACHE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


def forget_kept() -> None:
    """Nothing kept anywhere: the cache emptied, this process's copies dropped, the stored parts deleted."""
    cache.clear()
    overview_cache._local.clear()
    m.OverviewParts.objects.all().delete()


@contextmanager
def nothing_kept() -> Iterator[None]:
    """Every kept document and part set aside for the block: a cache that keeps nothing, and the parts stored
    in the database deleted in a savepoint rolled back at its end (as is anything the block stores)."""
    with override_settings(CACHES=NO_CACHE), transaction.atomic():
        m.OverviewParts.objects.all().delete()
        yield
        transaction.set_rollback(True)


def fresh(p, scope: str, now=NOW) -> tuple[str, str]:
    """The document built in full from the database (every kept document and part set aside)."""
    with nothing_kept():
        built, how = how_served(p, scope, now)
    assert how == "built"
    return built


def fresh_units(p, unit: str, now=NOW) -> tuple[str, str]:
    with nothing_kept():
        return units_document(p, unit, now)


def how_served(p, scope: str, now=NOW) -> tuple[tuple[str, str], str]:
    """The document, and whether it was "kept", "patched" or "built" (read from the statements run)."""
    with CaptureQueriesContext(connection) as queries:
        served = document(p, scope, now)
    sql = " ".join(query["sql"] for query in queries)
    if "r.generation >" in sql:
        return served, "patched"
    return served, "built" if "CROSS JOIN sums" in sql else "kept"


def kept_everywhere(p, now=NOW) -> None:
    for scope in SCOPES:
        document(p, scope, now)
    for unit in ("province", "city1"):
        units_document(p, unit, now)


def assert_every_scope_exact(p, *, now=NOW, expect: str) -> None:
    """Every scope's document (served from what is kept) equals a fresh build, the cycle's authority's
    served the way expected, the others then cut from the cycle's parts (patched)."""
    served = {scope: how_served(p, scope, now) for scope in SCOPES}
    units = {unit: units_document(p, unit, now) for unit in ("province", "city1")}
    assert [how for _, how in served.values()] == [expect, "patched", "patched"]
    for scope, (doc, _) in served.items():
        assert doc == fresh(p, scope, now), scope
    for unit, doc in units.items():
        assert doc == fresh_units(p, unit, now), unit


def a_task_of(p, school, criterion) -> m.Task:
    task = m.Task.objects.get(cycle=p.cycle, school=school, criterion=criterion)
    m.Criterion.objects.filter(pk=task.criterion_id).update(min_evidence=0)
    return task


def test_the_parts_join_into_the_document_a_full_build_writes(province):
    # given every scope built once (its parts kept), then nothing changed but the generation
    kept_everywhere(province)
    m.RollupClock.objects.filter(round_id=province.cycle.pk).update(generation=F("generation") + 1)

    # then every scope is patched (no school changed) into the very same document
    assert_every_scope_exact(province, expect="patched")


def test_a_task_write_is_patched_in_before_and_after_its_flush(province):
    task = a_task_of(province, province.s1, province.k3)
    kept_everywhere(province)
    before = document(province, "province")

    # the flush after commit has not run yet: the school is dirty when the overview is read
    task_submit(task=task, actor=province.s1_user, now=NOW)
    assert m.RollupDirty.objects.filter(school_id=province.s1.pk).exists()
    assert_every_scope_exact(province, expect="patched")
    assert document(province, "province") != before

    rollups_flush(now=NOW)
    assert not m.RollupDirty.objects.exists()
    assert_every_scope_exact(province, expect="patched")
    # and the patched document is kept: the next request is served as it is
    assert how_served(province, "province")[1] == "kept"


def test_a_school_outside_the_scope_changes_nothing_in_a_districts_document(province):
    # given the district supervisor's (d11: S1, S2) document kept
    task = a_task_of(province, province.s4, province.k3)
    kept = document(province, "d11")

    # when a school of another district is written and flushed
    task_submit(task=task, actor=province.s1_user, now=NOW)
    rollups_flush(now=NOW)
    served, how = how_served(province, "d11")

    # then the district's document is patched without it: the same two schools, the same bytes
    assert how == "patched"
    assert served == kept == fresh(province, "d11")
    names = [
        row["school"]["name"] for row in overview_schools(cycle=province.cycle, roots=(province.d11.pk,), now=NOW).rows
    ]
    assert sorted(name[:2] for name in names) == ["S1", "S2"]
    assert "S4" not in served[1]


def test_a_flag_opened_or_resolved_is_patched_in(province):
    kept_everywhere(province)
    m.Flag.objects.create(cycle=province.cycle, school=province.s4, severity="warning", opened_at=NOW)
    assert_every_scope_exact(province, expect="patched")

    m.Flag.objects.filter(cycle=province.cycle, school=province.s3).update(resolved_at=NOW)
    assert_every_scope_exact(province, expect="patched")

    m.Flag.objects.filter(cycle=province.cycle, school=province.s2, resolved_at__isnull=True).update(
        severity="critical"
    )
    assert_every_scope_exact(province, expect="patched")


def test_a_deadline_passing_is_patched_in(province):
    # given documents kept the day before K2's deadline, with the clock there
    before_k2 = K2_DUE - timedelta(days=1)
    rollups_rebuild(now=before_k2)
    kept_everywhere(province, before_k2)

    # when read the day after (the clock not moved: the edges in between are added)
    after_k2 = K2_DUE + timedelta(days=1)
    assert_every_scope_exact(province, now=after_k2, expect="patched")
    assert document(province, "province", after_k2) != fresh(province, "province", before_k2)


def test_a_sweep_advance_is_patched_in(province):
    before_k2 = K2_DUE - timedelta(days=1)
    rollups_rebuild(now=before_k2)
    kept_everywhere(province, before_k2)

    # the sweep folds K2's edges into the rows (stamping them) and moves the clock past it
    after_k2 = K2_DUE + timedelta(days=1)
    rollups_advance(now=after_k2)
    assert_every_scope_exact(province, now=after_k2, expect="patched")


def test_an_extension_is_patched_in(province):
    kept_everywhere(province)
    task = m.Task.objects.get(cycle=province.cycle, school=province.s2, criterion=province.k2)
    m.Task.objects.filter(pk=task.pk).update(
        due_at=NOW + timedelta(days=30), has_own_due=True, extensions=1, due_set_at=NOW
    )
    assert_every_scope_exact(province, expect="patched")
    rollups_flush(now=NOW)
    assert_every_scope_exact(province, expect="patched")


def test_a_criterion_edit_is_built_in_full(province):
    kept_everywhere(province)
    m.Criterion.objects.filter(pk=province.k3.pk).update(max_score=11)
    assert_every_scope_exact(province, expect="built")


@pytest.mark.parametrize("change", ["renamed", "moved", "school added"])
def test_a_unit_tree_change_is_patched_in(province, change):
    kept_everywhere(province)
    if change == "renamed":
        m.Unit.objects.filter(pk=province.s4.pk).update(name="S0 renamed")
    elif change == "moved":
        m.Unit.objects.filter(pk=province.s3.pk).update(parent=province.d11)
    else:
        SchoolFactory(name="S6 new", parent=province.d11)
    assert_every_scope_exact(province, expect="patched")


def test_a_school_whose_tasks_all_went_is_built_in_full(province):
    # its rollup row disappears: no stamp can tell, so the rows are reset
    kept_everywhere(province)
    m.Task.objects.filter(cycle=province.cycle, school=province.s5).delete()
    assert_every_scope_exact(province, expect="patched")  # dirty: counted from its (no) tasks
    rollups_flush(now=NOW)
    assert_every_scope_exact(province, expect="built")


def test_the_unit_tree_version_changes_with_every_write_to_the_tree(province):
    def version():
        return m.UnitTreeVersion.objects.get().version

    seen = [version()]
    m.Unit.objects.filter(pk=province.s1.pk).update(name="S1 again")
    seen.append(version())
    SchoolFactory(parent=province.d12)
    seen.append(version())
    m.Unit.objects.filter(pk=province.s1.pk).update(name="S1 沈家门小学")
    seen.append(version())
    assert len(set(seen)) == 4  # never an earlier value: an equal version is the same tree


def test_a_patch_reading_rollup_rows_alone_is_not_used_once_a_school_is_dirty(province):
    # given the province's parts kept, and a school made dirty after a check that found none
    kept_everywhere(province)
    roots = [province.province.pk]
    key = overview_cache.cache_key(cycle_id=province.cycle.pk, unit_id=None, roots=roots)
    m.RollupClock.objects.filter(round_id=province.cycle.pk).update(generation=F("generation") + 1)
    check = overview_cache.cached(key=key, cycle_id=province.cycle.pk, now=NOW)
    assert check.token is not None and not check.dirty
    task_submit(task=a_task_of(province, province.s1, province.k3), actor=province.s1_user, now=NOW)

    over = patch_chain(cycle=province.cycle, now=NOW)

    # then a patch that skips the dirty schools' tasks gives up (a full build follows), one that reads them not
    assert (
        overview_patch.patch(cycle=province.cycle, now=NOW, key=key, token=check.token, clean=True, chain=over) is None
    )
    patched = overview_patch.patch(cycle=province.cycle, now=NOW, key=key, token=check.token, clean=False, chain=over)
    assert patched is not None
    parts = patched.parts
    assert (totals_json(len(parts.ids), parts.sums), parts.document().decode()) == fresh(province, "province")


def test_parts_kept_again_after_each_patch_stay_exact_through_a_run_of_changes(province, monkeypatch):
    # every patch keeps its parts again (as after REBASE schools), so each patches from the one before
    monkeypatch.setattr(overview_patch, "REBASE", -1)
    task = a_task_of(province, province.s2, province.k3)
    kept_everywhere(province)
    task_submit(task=task, actor=province.s1_user, now=NOW)
    rollups_flush(now=NOW)
    assert_every_scope_exact(province, expect="patched")

    # S2 approved with a score: it climbs over S5 (ranks move and are written again)
    task_approve(task=task, actor=province.province_supervisor, deductions=[], now=NOW)
    rollups_flush(now=NOW)
    assert_every_scope_exact(province, expect="patched")
    ranks = [row["rank"] for row in overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW).rows]
    assert ranks == sorted(ranks) and len(set(ranks)) >= 3

    m.Flag.objects.filter(cycle=province.cycle, school=province.s3).update(resolved_at=NOW)
    assert_every_scope_exact(province, expect="patched")
    later = NOW + timedelta(days=100)  # K3's deadline passes
    assert_every_scope_exact(province, now=later, expect="patched")


def test_the_flag_version_changes_only_when_a_cycles_open_flags_change(province):
    def version():
        found = m.FlagVersion.objects.filter(cycle_id=province.cycle.pk).values_list("version", flat=True).first()
        return found or 0

    seen = [version()]
    flags = m.Flag.objects.filter(cycle=province.cycle, resolved_at__isnull=True)
    flags.update(overdue_count=7)  # nothing a document shows
    assert version() == seen[-1]
    flags.filter(school=province.s2).update(severity="critical")
    seen.append(version())
    m.Flag.objects.create(cycle=province.cycle, school=province.s4, severity="warning", opened_at=NOW)
    seen.append(version())
    flags.filter(school=province.s4).update(resolved_at=NOW)
    seen.append(version())
    m.Flag.objects.filter(cycle=province.cycle, school=province.s3).delete()
    seen.append(version())
    m.Flag.objects.filter(cycle=province.outside_cycle).update(severity="critical")  # another cycle
    assert version() == seen[-1]
    assert len(set(seen)) == 5
