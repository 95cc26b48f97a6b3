"""A school renamed, even by a raw statement, is patched into the overview without reading every school's
name: the log of the tree's facts (tracker.org.models.UnitFactsChange, written by the triggers) says that
only schools were renamed, and which; their new places by name are read among the others. Every scope then
equals a fresh full build byte for byte, whatever the names (ties included); any other change of the
facts in between reads the facts as before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import SchoolFactory, UnitFactory
from tests.tracker.reporting import test_overview_cut
from tests.tracker.reporting.test_overview_cut import assert_cut_exact, facts_read, read_as_authority, renamed_read
from tracker import models as m
from tracker.reporting import overview_cache, overview_patch, overview_tree
from tracker.reporting.overview_parts import Parts

pytestmark = pytest.mark.django_db

province = test_overview_cut.province  # the fixture: the test province, its rollups rebuilt, nothing kept
EVERY_SCOPE = ("province", "city1", "city2", "d11", "d12", "d21")


def assert_places_by_name(p) -> None:
    """The cycle's kept parts place their schools by name as the database orders them (a full read of the
    tree's facts), ties in score and on-time rate or not."""
    key = overview_cache.cache_key(cycle_id=p.cycle.pk, unit_id=None, roots=[p.cycle.authority_id])
    parts = Parts(*overview_cache.parts(key))
    tree = overview_tree.facts(p.cycle.authority_id)
    assert parts.token.split("|")[7] == tree.version  # kept as of the tree read here
    by_parts = sorted(zip(parts.ticks, parts.ids, strict=True))
    by_database = sorted(zip(tree.ticks, tree.ids, strict=True))
    assert [school for _, school in by_parts] == [school for _, school in by_database]


def logged(write) -> list[list[int | None]]:
    """The rows the log took for each new version of the facts during `write` (school ids, None: other)."""
    last = m.UnitFactsChange.objects.order_by("-version").values_list("version", flat=True).first()
    write()
    rows = m.UnitFactsChange.objects.filter(version__gt=last).order_by("version", "school_id")
    versions: dict[int, list[int | None]] = {}
    for version, school in rows.values_list("version", "school_id"):
        versions.setdefault(version, []).append(school)
    assert max(versions, default=last) == m.UnitTreeFacts.objects.get().version
    return list(versions.values())


def test_the_log_says_what_each_version_of_the_facts_changed(province):
    units = m.Unit.objects
    p = province
    assert logged(lambda: units.filter(pk=p.s1.pk).update(name="S1 again")) == [[p.s1.pk]]
    assert logged(lambda: units.filter(pk__in=[p.s2.pk, p.s3.pk]).update(name="Same name")) == [[p.s2.pk, p.s3.pk]]
    assert logged(lambda: units.filter(pk=p.d11.pk).update(name="Putuo")) == []  # not a fact of the overview
    assert logged(lambda: units.filter(pk=p.s1.pk).update(parent=p.d12)) == [[None]]
    assert logged(lambda: SchoolFactory(parent=p.d21)) == [[None]]
    # a statement that renames a school and moves another: one version, another change than a rename
    with connection.cursor() as cursor:
        renames_and_moves = (
            "UPDATE tracker_unit SET name = CASE WHEN id = %s THEN 'S4 too' ELSE name END, "
            "parent_id = CASE WHEN id = %s THEN %s ELSE parent_id END WHERE id IN (%s, %s)"
        )
        assert logged(lambda: cursor.execute(renames_and_moves, [p.s4.pk, p.s2.pk, p.d21.pk, p.s4.pk, p.s2.pk])) == [
            [None]
        ]
    assert overview_tree.renamed_since("0", str(m.UnitTreeFacts.objects.get().version)) is None  # before the log


@pytest.mark.parametrize(
    "names",
    [
        {"s3": "A3 first by name"},
        {"s1": "Z1 last by name"},
        {"s2": "S1 定海一中", "s4": "S1 定海一中"},  # the same name as another school: ties go by id
        {"s1": "S4 海曙实验学校", "s4": "S1 定海一中"},  # two schools swap names
    ],
    ids=["first", "last", "ties", "swapped"],
)
@pytest.mark.parametrize("block", [2, overview_tree.BLOCK])  # 2: the others' pivots and blocks used at this size
def test_a_raw_rename_is_patched_without_reading_the_facts_and_every_scope_is_exact(
    province, names, block, monkeypatch
):
    monkeypatch.setattr(overview_tree, "BLOCK", block)
    read_as_authority(province)
    # when schools are renamed by statements that record no event (one statement each)
    for school, name in names.items():
        m.Unit.objects.filter(pk=getattr(province, school).pk).update(name=name)

    # then the authority's document is patched reading only the renamed schools, never the facts
    with CaptureQueriesContext(connection) as queries:
        assert read_as_authority(province) == "patched"
    assert (facts_read(queries), renamed_read(queries)) == (0, 1)
    assert_places_by_name(province)
    # and every scope equals a fresh full build, holding exactly its schools, with their new names
    assert_cut_exact(province, EVERY_SCOPE)
    for school, name in names.items():
        assert (
            f'"id":{getattr(province, school).pk},"name":"{name}"'
            in test_overview_cut.how_served(province, "province")[0][1]
        )


def test_renames_since_the_parts_across_several_reads_stay_exact(province, monkeypatch):
    monkeypatch.setattr(overview_tree, "BLOCK", 2)
    read_as_authority(province)
    for n, school in enumerate(("s1", "s3", "s1", "s2")):
        m.Unit.objects.filter(pk=getattr(province, school).pk).update(name=f"Renamed {n} {school}")
        with CaptureQueriesContext(connection) as queries:
            assert read_as_authority(province) == "patched"
        assert facts_read(queries) == 0
        assert_places_by_name(province)
        assert_cut_exact(province, ("province", "d11", "d12"))


def test_a_school_outside_the_authority_renamed_changes_nothing_read(province):
    elsewhere = SchoolFactory(parent=UnitFactory(name="Another bureau"))
    read_as_authority(province)
    m.Unit.objects.filter(pk=elsewhere.pk).update(name="Renamed elsewhere")
    with CaptureQueriesContext(connection) as queries:
        assert read_as_authority(province) == "patched"
    assert (facts_read(queries), renamed_read(queries)) == (0, 0)
    assert_cut_exact(province, EVERY_SCOPE)


def test_a_rename_and_a_move_since_the_parts_read_the_facts(province, monkeypatch):
    read_as_authority(province)
    m.Unit.objects.filter(pk=province.s3.pk).update(name="A3 first by name")
    m.Unit.objects.filter(pk=province.s1.pk).update(parent=province.d12)
    with CaptureQueriesContext(connection) as queries:
        assert read_as_authority(province) == "patched"
    assert facts_read(queries) == 1
    assert_cut_exact(province, EVERY_SCOPE)

    # and more renames than RENAMES since the parts read the facts too
    monkeypatch.setattr(overview_patch, "RENAMES", 1)
    for school in ("s2", "s4"):
        m.Unit.objects.filter(pk=getattr(province, school).pk).update(name=f"Many {school}")
    with CaptureQueriesContext(connection) as queries:
        assert read_as_authority(province) == "patched"
    assert facts_read(queries) == 1
    assert_cut_exact(province, EVERY_SCOPE)


def test_a_rename_among_schools_tied_in_score_and_rate_reorders_them(province):
    # three schools without tasks: the same score (0) and on-time rate (none), listed by name
    tied = [SchoolFactory(parent=province.d21, name=f"Tie {letter}") for letter in "ABC"]
    read_as_authority(province)
    m.Unit.objects.filter(pk=tied[0].pk).update(name="Tie D")  # from first to last among them
    with CaptureQueriesContext(connection) as queries:
        assert read_as_authority(province) == "patched"
    assert facts_read(queries) == 0
    assert_places_by_name(province)
    assert_cut_exact(province, ("province", "d21", "city2"))
    rows = test_overview_cut.how_served(province, "d21")[0][1]
    assert rows.index('"name":"Tie B"') < rows.index('"name":"Tie C"') < rows.index('"name":"Tie D"')
