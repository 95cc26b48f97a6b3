"""Every scope's overview is cut from the cycle's parts (kept once, for every school under the cycle's
authority): a scope's first read is a cut, not a build, and after a change of the unit tree (a school
renamed, moved, added, leaving a scope or the authority) the parts are patched. What is served equals a
fresh full build for that scope byte for byte, and never holds a school outside the caller's scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CycleFactory, SchoolFactory
from tests.tracker.reporting.test_dashboards import NOW, build_province
from tests.tracker.reporting.test_overview_patch import a_task_of, forget_kept, fresh, how_served
from tracker import models as m
from tracker.assessment.task_services import task_submit
from tracker.monitoring.rollups import rollups_flush, rollups_rebuild
from tracker.reporting import overview_cache, overview_tree
from tracker.reporting.overview import overview_schools

pytestmark = pytest.mark.django_db

# The cycle's authority (a superuser, its supervisors), a city, a district (its supervisor, its
# inspector), a district with one school, a district without any, a school-less city's part.
SCOPES = ("province", "city1", "city2", "d11", "d12", "d21", "empty_district")


@pytest.fixture
def province(db):
    built = build_province()
    rollups_rebuild(now=NOW)
    forget_kept()
    return built


def schools_under(p, scope: str) -> set[int]:
    """The schools under a scope's unit, read from the model (not through the code under test)."""
    found, units = set(), [getattr(p, scope)]
    while units:
        unit = units.pop()
        if unit.kind == m.UnitKind.SCHOOL:
            found.add(unit.pk)
        units += list(m.Unit.objects.filter(parent=unit))
    return found


def assert_cut_exact(p, scopes=SCOPES, now=NOW) -> None:
    """Each scope's document is cut (not built; the authority's: the parts as they are, maybe kept), equals
    a fresh build and holds exactly its schools."""
    for scope in scopes:
        (totals, rows), how = how_served(p, scope, now)
        assert how in (("patched", "kept") if scope == "province" else ("patched",)), scope
        assert (totals, rows) == fresh(p, scope, now), scope
        overview = overview_schools(cycle=p.cycle, roots=(getattr(p, scope).pk,), now=now)
        seen = {row["school"]["id"] for row in overview.rows}
        assert seen == schools_under(p, scope), scope
        assert overview.totals["schools"] == len(seen), scope


def read_as_authority(p, now=NOW) -> str:
    return how_served(p, "province", now)[1]


def test_every_scope_is_cut_from_the_cycles_parts_and_holds_only_its_schools(province):
    # given the cycle's parts kept by one read of the authority's document
    assert read_as_authority(province) == "built"

    # then each scope's first read is a cut of them, exact, with exactly the scope's schools
    assert_cut_exact(province)
    assert schools_under(province, "d11") == {province.s1.pk, province.s2.pk}
    assert schools_under(province, "empty_district") == set()
    # and each is then kept as it is
    assert all(how_served(province, scope)[1] == "kept" for scope in SCOPES)


def test_a_scope_read_first_is_built_and_the_cycles_parts_follow(province):
    # given nothing kept: the district's document is built in full for it
    assert how_served(province, "d11")[1] == "built"
    assert {
        row["school"]["id"] for row in overview_schools(cycle=province.cycle, roots=(province.d11.pk,), now=NOW).rows
    } == {
        province.s1.pk,
        province.s2.pk,
    }
    # then the cycle's parts were kept after it: the other scopes are cut from them
    assert_cut_exact(province, ("city2", "d21", "province"))


def test_several_roots_and_roots_outside_the_authority(province):
    read_as_authority(province)
    # two districts' supervisor: one cut over both districts
    roots = (province.d11.pk, province.d21.pk)
    with CaptureQueriesContext(connection) as queries:
        both = overview_schools(cycle=province.cycle, roots=roots, now=NOW)
    assert "CROSS JOIN sums" not in " ".join(q["sql"] for q in queries)
    assert {row["school"]["id"] for row in both.rows} == {province.s1.pk, province.s2.pk, province.s4.pk}
    forget_kept()
    assert overview_schools(cycle=province.cycle, roots=roots, now=NOW).rows_json == both.rows_json

    # a root outside the cycle's authority: its schools are not among the parts, so it is built in full
    read_as_authority(province)
    with CaptureQueriesContext(connection) as queries:
        outside = overview_schools(cycle=province.cycle, roots=(province.outside.pk,), now=NOW)
    assert "CROSS JOIN sums" in " ".join(q["sql"] for q in queries)
    assert [row["school"]["id"] for row in outside.rows] == [province.outside_school.pk]


def test_cuts_follow_a_task_write_before_and_after_its_flush(province):
    read_as_authority(province)
    assert_cut_exact(province)
    task_submit(task=a_task_of(province, province.s4, province.k3), actor=province.s1_user, now=NOW)
    assert_cut_exact(province, ("d21", "d11", "city2", "province"))
    rollups_flush(now=NOW)
    assert_cut_exact(province, ("d21", "d11", "city2", "province"))
    later = NOW + timedelta(days=100)  # K3's deadline passes
    assert_cut_exact(province, ("city1", "d21", "province"), now=later)


@pytest.mark.parametrize(
    "change",
    ["renamed", "moved between districts", "moved to another city", "school added", "school leaves the authority"],
)
def test_a_tree_change_is_patched_into_every_scope(province, change):
    # given the cycle's parts and every scope's document kept
    read_as_authority(province)
    assert_cut_exact(province)
    before = {scope: schools_under(province, scope) for scope in SCOPES}

    if change == "renamed":  # S5 renamed to sort first: places by name and ties move
        m.Unit.objects.filter(pk=province.s5.pk).update(name="A0 renamed")
    elif change == "moved between districts":  # S2 leaves d11's scope for d12's
        m.Unit.objects.filter(pk=province.s2.pk).update(parent=province.d12)
    elif change == "moved to another city":
        m.Unit.objects.filter(pk=province.s1.pk).update(parent=province.d21)
    elif change == "school added":
        SchoolFactory(name="S0 new", parent=province.empty_district)
    else:
        m.Unit.objects.filter(pk=province.s4.pk).update(parent=province.outside)

    # then the authority's document is patched (the tree's facts read again), every scope cut, all exact
    assert read_as_authority(province) == "patched"
    assert_cut_exact(province)
    after = {scope: schools_under(province, scope) for scope in SCOPES}
    if change != "renamed":
        assert after != before  # the scopes' schools did change
    if change == "school leaves the authority":
        served = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)
        assert province.s4.pk not in {row["school"]["id"] for row in served.rows}


FACTS_QUERY = "row_number() OVER (ORDER BY s.name, s.id)"


def facts_read(queries) -> int:
    return sum(FACTS_QUERY in q["sql"] for q in queries)


RENAMED_QUERY = "WHERE (o.name, o.id) < (r.name, r.id)"


def renamed_read(queries) -> int:
    return sum(RENAMED_QUERY in q["sql"] for q in queries)


def test_a_tree_write_that_changes_no_fact_reads_no_facts_a_rename_reads_only_its_school_a_move_all(province):
    read_as_authority(province)
    # a statement on the tree that changes no unit, and a city renamed: the tree's version moves, not its facts
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tracker_unit SET name = name WHERE false")
    m.Unit.objects.filter(pk=province.city2.pk).update(name="Ningbo")
    with CaptureQueriesContext(connection) as queries:
        assert read_as_authority(province) == "patched"
    assert facts_read(queries) == 0
    assert_cut_exact(province, ("city2", "d11"))

    # a school renamed: only it is read again (its name and place by name), not every school's facts
    m.Unit.objects.filter(pk=province.s3.pk).update(name="S3 renamed")
    with CaptureQueriesContext(connection) as queries:
        assert read_as_authority(province) == "patched"
    assert (facts_read(queries), renamed_read(queries)) == (0, 1)
    assert_cut_exact(province, ("city1", "d12", "d21"))

    # a school moved: the facts are read once, the parts kept again as of them
    m.Unit.objects.filter(pk=province.s3.pk).update(parent=province.d11)
    with CaptureQueriesContext(connection) as queries:
        assert read_as_authority(province) == "patched"
    assert facts_read(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert how_served(province, "d12")[1] == "patched"
    assert facts_read(queries) == 0
    assert_cut_exact(province, ("city1", "d11", "d21", "empty_district"))


def test_the_tree_facts_version_moves_only_with_what_the_overview_takes_from_the_tree(province):
    def versions() -> tuple[int, int]:
        return m.UnitTreeVersion.objects.get().version, m.UnitTreeFacts.objects.get().version

    def moved(write) -> tuple[bool, bool]:
        before = versions()
        write()
        after = versions()
        return after[0] != before[0], after[1] != before[1]

    units = m.Unit.objects
    assert moved(lambda: units.filter(pk=province.d11.pk).update(name="Putuo")) == (True, False)
    assert moved(lambda: units.filter(pk=province.s1.pk).update(code="S1-NEW")) == (True, False)
    assert moved(lambda: connection.cursor().execute("UPDATE tracker_unit SET name = name WHERE false")) == (
        True,
        False,
    )
    assert moved(lambda: units.filter(pk=province.s1.pk).update(name="S1 again")) == (True, True)
    assert moved(lambda: units.filter(pk=province.s1.pk).update(parent=province.d12)) == (True, True)
    assert moved(lambda: units.filter(pk=province.empty_district.pk).update(kind=m.UnitKind.SCHOOL)) == (True, True)
    assert moved(lambda: SchoolFactory(parent=province.d21)) == (True, True)
    assert moved(lambda: units.filter(pk=province.empty_district.pk).delete()) == (True, True)


def test_a_scopes_schools_are_read_for_the_tree_facts_version_they_are_asked_for(province):
    version = str(m.UnitTreeFacts.objects.get().version)
    assert overview_tree.scope_schools([province.d11.pk], version) == {province.s1.pk, province.s2.pk}
    m.Unit.objects.filter(pk=province.s3.pk).update(parent=province.d11)
    # held for the old version, not read again
    assert overview_tree.scope_schools([province.d11.pk], version) == {province.s1.pk, province.s2.pk}
    new = str(m.UnitTreeFacts.objects.get().version)
    assert new != version
    assert overview_tree.scope_schools([province.d11.pk], new) == {province.s1.pk, province.s2.pk, province.s3.pk}
    assert overview_tree.scope_schools([province.d12.pk], version) is None  # not the tree's version now
    # another process (this one's sets dropped) finds the set in the cache, without walking the tree
    overview_tree._scopes.clear()
    with CaptureQueriesContext(connection) as queries:
        assert overview_tree.scope_schools([province.d11.pk], new) == {province.s1.pk, province.s2.pk, province.s3.pk}
    assert len(queries) == 0


def test_parts_are_kept_without_the_hours_deadline_one_set_per_cycle(province, monkeypatch):
    timeouts = []
    real_set = cache.set

    def set_spy(name, value, timeout=None):
        timeouts.append((name, timeout))
        real_set(name, value, timeout=timeout)

    monkeypatch.setattr(cache, "set", set_spy)
    cycles = [CycleFactory(authority=province.province).pk for _ in range(overview_cache.PART_SETS + 1)]
    for n, cycle in enumerate(cycles):  # kept in the cache only (the database's: test_overview_stored.py)
        overview_cache.keep_parts(f"cycle{n}", (f"token{n}", NOW, "value"), cycle_id=cycle, store=False)
    assert all(timeout > 3600 for name, timeout in timeouts if ":parts" in name)
    # the least recently kept set went; the others stay
    assert overview_cache.parts("cycle0") is None
    overview_cache._local.clear()
    assert overview_cache.parts("cycle0") is None
    assert all(overview_cache.parts(f"cycle{n}") is not None for n in range(1, overview_cache.PART_SETS + 1))
    assert overview_cache.cycles_with_parts() == sorted(cycles[1:])
