"""What the flat overview takes from the unit tree, read with the version of those facts (tracker.org.
models.UnitTreeFacts) in the same statement, so that it is known to be the tree a token names.

* `facts`: every school under the cycle's authority, with its name and place by name (in the database's
  collation): all that the cycle's parts take from the tree. When the facts' version moves, the parts are
  patched with the schools added, gone or renamed (tracker.reporting.overview_patch) rather than built
  again.
* `renamed_since` and `renamed_places`: when only schools were renamed since the parts' version (the log
  tracker.org.models.UnitFactsChange says so), their new names and places by name among the others, read
  without walking the tree or reading every name.
* `scope_schools`: the schools under a caller's roots, the set a scope's document is cut to. Held by this
  process and the cache per (version, roots): no unit's parent or kind changes, and no unit comes or goes,
  without the facts' version changing; a set held for an earlier version serves a later one when only
  schools were renamed in between.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection

from tracker.org.tree import SCHOOL, UNIT_TABLE, schools_under_sql, subtree_cte

_VERSION = "(SELECT CAST(v.version AS TEXT) FROM tracker_unittreefacts v WHERE v.id = 1)"


@dataclass(frozen=True)
class Facts:
    """The schools under an authority (by id), their names and places by name, as of the facts' `version`."""

    version: str | None
    ids: list[int]
    names: list[str]
    ticks: list[int]


def facts(authority_id: int) -> Facts:
    seed = f"SELECT u.id, 0 FROM {UNIT_TABLE} u WHERE u.id = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE {subtree_cte(seed)}, schools AS (\n"
            f"    SELECT s.id, s.name, row_number() OVER (ORDER BY s.name, s.id) AS tick\n"
            f"    FROM tree JOIN {UNIT_TABLE} s ON s.id = tree.id AND s.kind = '{SCHOOL}')\n"
            # One pass: the three arrays in the same order.
            f"SELECT {_VERSION}, COALESCE(array_agg(id), '{{}}'), COALESCE(array_agg(name), '{{}}'), "
            "COALESCE(array_agg(tick), '{}') FROM schools",
            [authority_id],
        )
        version, ids, names, ticks = cursor.fetchone()
    return Facts(version, ids, names, ticks)


def renamed_since(base: str, version: str) -> list[int] | None:
    """The schools renamed between two versions of the tree's facts (`base` excluded, `version` included),
    when nothing else the overview takes from the tree changed in between; else None (tracker.org.models.
    UnitFactsChange: versions grow in commit order, and every one has its rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(bool_or(c.school_id IS NULL), FALSE), "
            "COALESCE(array_agg(DISTINCT c.school_id) FILTER (WHERE c.school_id IS NOT NULL), '{}') "
            "FROM tracker_unitfactschange c WHERE c.version > %s AND c.version <= %s",
            [int(base), int(version)],
        )
        other, renamed = cursor.fetchone()
    return None if other else sorted(renamed)


@dataclass(frozen=True)
class Renamed:
    """Schools renamed, read as of the facts' `version`: in the order of (name, id), each with its id, its new
    name and how many of the other schools come before it by (name, id), in the database's collation."""

    version: str
    schools: list[tuple[int, str, int]]


BLOCK = 64  # the others sent to the database at once: one in BLOCK first, then the block each school falls in

_PLACES = f"""SELECT {_VERSION}, r.id, r.name, (
    SELECT count(*) FROM unnest(CAST(%s AS TEXT[]), CAST(%s AS BIGINT[])) o(name, id)
    WHERE (o.name, o.id) < (r.name, r.id)
) FROM {UNIT_TABLE} r WHERE r.id = ANY(%s) ORDER BY r.name, r.id"""
_IN_BLOCK = f"""SELECT {_VERSION}, b.school, count(*) FILTER (WHERE (b.name, b.id) < (r.name, r.id))
FROM unnest(CAST(%s AS BIGINT[]), CAST(%s AS TEXT[]), CAST(%s AS BIGINT[])) b(school, name, id)
JOIN {UNIT_TABLE} r ON r.id = b.school GROUP BY b.school"""


def renamed_places(renamed: Sequence[int], others: Sequence[tuple[str, int]]) -> Renamed | None:
    """`others`: the other schools' (name, id) in their order by name (as the parts hold them, unchanged since).
    Two small statements rather than one over every school: each renamed school's place among one in BLOCK
    of the others, then within the block it falls in. None when the facts moved on between the two, or none
    of `renamed` is a unit any more."""
    pivots = others[BLOCK - 1 :: BLOCK]
    with connection.cursor() as cursor:
        cursor.execute(_PLACES, [[name for name, _ in pivots], [i for _, i in pivots], list(renamed)])
        rows = cursor.fetchall()
        if not rows:
            return None
        version = rows[0][0]
        pairs = [(school, other) for _, school, _, below in rows for other in others[below * BLOCK :][: BLOCK - 1]]
        within: dict[int, int] = {}
        if pairs:
            names, ids = [name for _, (name, _) in pairs], [i for _, (_, i) in pairs]
            cursor.execute(_IN_BLOCK, [[school for school, _ in pairs], names, ids])
            for current, school, below in cursor.fetchall():
                if current != version:
                    return None
                within[school] = below
    return Renamed(version, [(school, name, below * BLOCK + within.get(school, 0)) for _, school, name, below in rows])


def _held_before_renames(roots: tuple[int, ...], version: str) -> frozenset[int] | None:
    """The set this process holds for `roots` at an earlier version, if only schools were renamed since (no
    school came, went or moved: the same set)."""
    with _lock:
        older = [
            (int(held), ids) for (held, under), ids in _scopes.items() if under == roots and int(held) < int(version)
        ]
    if not older:
        return None
    held, ids = max(older, key=lambda pair: pair[0])
    return ids if renamed_since(str(held), version) is not None else None


_SCOPES = 64  # (version, roots) sets held by this process
SHARED_TIMEOUT = 24 * 3600  # a version's set in the cache (a version never comes back: it only expires)
_scopes: OrderedDict[tuple[str, tuple[int, ...]], frozenset[int]] = OrderedDict()
_lock = threading.Lock()


def scope_schools(roots: Sequence[int], version: str) -> frozenset[int] | None:
    """The ids of the schools at or under `roots` in the tree of facts' `version` (None: the tree's facts are
    no longer at that version). Held by this process, and shared through the cache with the others (each
    would otherwise walk the tree again after every change of the facts: ~15 ms for 12,000 schools)."""
    name = (version, tuple(roots))
    with _lock:
        held = _scopes.get(name)
        if held is not None:
            _scopes.move_to_end(name)
            return held
    shared = f"qinglian:overview:scope:{version}:{','.join(map(str, roots))}"
    ids = cache.get(shared)
    if ids is None:
        ids = _held_before_renames(tuple(roots), version)
        if ids is None:
            sql, params = schools_under_sql(roots)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {_VERSION}, COALESCE((SELECT array_agg(id) FROM ({sql}) s), '{{}}')", params)
                current, ids = cursor.fetchone()
            if current != version:
                return None
        cache.set(shared, array("q", ids), timeout=SHARED_TIMEOUT)
    schools = frozenset(ids)
    with _lock:
        _scopes[name] = schools
        while len(_scopes) > _SCOPES:
            _scopes.popitem(last=False)
    return schools
