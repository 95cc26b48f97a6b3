"""The cycle's overview parts are stored in the database beside the cache (models.OverviewParts): a cache
emptied or restarted costs reading them back and patching them, never a full build, and what is served
still equals a fresh full build byte for byte; stored parts whose frame no longer holds are never served."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache

from tests.factories import CycleFactory
from tests.tracker.reporting import test_overview_cut
from tests.tracker.reporting.test_dashboards import NOW
from tests.tracker.reporting.test_overview_patch import a_task_of, fresh, how_served
from tracker import models as m
from tracker.assessment.task_services import task_submit
from tracker.monitoring.rollups import rollups_flush
from tracker.reporting import overview_cache

pytestmark = pytest.mark.django_db

SCOPES = ("province", "city1", "d11", "d21")


province = test_overview_cut.province  # the fixture: the test province, its rollups rebuilt, nothing kept


def parts_key(p) -> str:
    return overview_cache.cache_key(cycle_id=p.cycle.pk, unit_id=None, roots=[p.cycle.authority_id])


def cache_lost_everything() -> None:
    """The cache emptied (a restart), and this process's copies dropped (another process): the database's stay."""
    cache.clear()
    overview_cache._local.clear()


def test_a_full_build_stores_the_parts_it_keeps(province):
    # when the authority's overview is built in full
    assert how_served(province, "province")[1] == "built"

    # then the parts kept in the cache are stored in the database too, under the same key and token
    stored = m.OverviewParts.objects.get()
    kept = overview_cache.parts(parts_key(province))
    assert (stored.key, stored.cycle_id, stored.token, stored.kept_at) == (
        parts_key(province),
        province.cycle.pk,
        kept[0],
        kept[1],
    )


def test_after_the_cache_lost_everything_every_scope_is_patched_from_the_stored_parts(province):
    how_served(province, "province")
    cache_lost_everything()

    # when every scope is read
    for scope in SCOPES:
        served, how = how_served(province, scope)
        # then none is built in full, and each equals a fresh full build
        assert how == "patched", scope
        assert served == fresh(province, scope), scope
    # and the parts are back in the cache for the next reader
    assert cache.get(f"{parts_key(province)}:parts:meta") is not None


def test_stored_parts_are_patched_with_what_changed_since_they_were_stored(province):
    how_served(province, "province")
    task = a_task_of(province, province.s1, province.k3)
    task_submit(task=task, actor=province.s1_user, now=NOW)
    cache_lost_everything()

    # before the write's flush (its school dirty) and after it
    for step in ("dirty", "flushed"):
        for scope in SCOPES:
            served, how = how_served(province, scope)
            assert how == "patched", (step, scope)
            assert served == fresh(province, scope), (step, scope)
        rollups_flush(now=NOW)
        cache_lost_everything()


def test_stored_parts_whose_frame_changed_are_not_served_and_are_replaced(province):
    how_served(province, "province")
    before = m.OverviewParts.objects.get().token
    # a criterion's score edited by a statement that records no event: the stored parts cannot be patched
    m.Criterion.objects.filter(pk=province.k3.pk).update(max_score=province.k3.max_score + 7)
    cache_lost_everything()

    served, how = how_served(province, "province")
    assert how == "built"
    assert served == fresh(province, "province")
    assert m.OverviewParts.objects.get().token != before


def test_only_the_most_recently_kept_cycles_parts_are_stored(province):
    cycles = [CycleFactory(authority=province.province).pk for _ in range(overview_cache.STORED_PART_SETS + 1)]
    for n, cycle in enumerate(cycles):
        value = (f"token{n}", NOW + timedelta(seconds=n), b"rows")
        overview_cache.keep_parts(f"cycle{n}", value, cycle_id=cycle)

    # the least recently kept row went; the others are read back when the cache has lost them
    assert sorted(m.OverviewParts.objects.values_list("cycle_id", flat=True)) == sorted(cycles[1:])
    cache_lost_everything()
    assert overview_cache.parts("cycle0") is None
    assert overview_cache.parts(f"cycle{len(cycles) - 1}") == (
        f"token{len(cycles) - 1}",
        NOW + timedelta(seconds=len(cycles) - 1),
        b"rows",
    )
    # the worker warms the PART_SETS most recently stored cycles after a unit event
    assert overview_cache.cycles_with_parts() == sorted(cycles[-overview_cache.PART_SETS :])
