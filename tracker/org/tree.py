"""The one walk of the unit tree: a recursive CTE down (subtree) or up (ancestry), in one query
whatever the depth. Python callers get ids; SQL callers embed the same CTEs in their statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

from .models import Unit, UnitKind

UNIT_TABLE = Unit._meta.db_table
SCHOOL = UnitKind.SCHOOL.value
AUTHORITY = UnitKind.AUTHORITY.value


def placeholders(ids: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(ids))


def subtree_cte(seed: str, name: str = "tree") -> str:
    """A CTE `name(id, top_id)` (for WITH RECURSIVE): every unit at or under the rows of `seed`.

    `seed` selects `(id, top_id)` from `tracker_unit u`; each unit below keeps its seed row's top_id
    (the row a rollup sums it into).
    """
    return (
        f"{name}(id, top_id) AS (\n    {seed}\n  UNION\n"
        f"    SELECT u.id, {name}.top_id FROM {UNIT_TABLE} u JOIN {name} ON u.parent_id = {name}.id\n)"
    )


def ancestry_cte(ids: Sequence[int], name: str = "up") -> str:
    """A CTE `name(start_id, id, kind, depth)`: every unit at (depth 0) or above each unit of `ids`."""
    return (
        f"{name}(start_id, id, parent_id, kind, depth) AS (\n"
        f"    SELECT u.id, u.id, u.parent_id, u.kind, 0 FROM {UNIT_TABLE} u WHERE u.id IN ({placeholders(ids)})\n"
        f"  UNION ALL\n"
        f"    SELECT {name}.start_id, u.id, u.parent_id, u.kind, {name}.depth + 1\n"
        f"    FROM {UNIT_TABLE} u JOIN {name} ON u.id = {name}.parent_id\n)"
    )


def units_under_sql(roots: Sequence[int], kind: str | None) -> tuple[str, list[int]]:
    """A SELECT of the ids of the units of `kind` (None: of any kind) at or under `roots`, with its parameters."""
    roots = list(roots) or [0]
    seed = f"SELECT u.id, u.id FROM {UNIT_TABLE} u WHERE u.id IN ({placeholders(roots)})"
    if kind is None:
        return f"WITH RECURSIVE {subtree_cte(seed)}\nSELECT id FROM tree", roots
    sql = (
        f"WITH RECURSIVE {subtree_cte(seed)}\n"
        f"SELECT s.id FROM tree JOIN {UNIT_TABLE} s ON s.id = tree.id AND s.kind = '{UnitKind(kind).value}'"
    )
    return sql, roots


def units_above_sql(ids: Sequence[int]) -> tuple[str, list[int]]:
    """A SELECT of the ids of the units at or above `ids`, with its parameters."""
    ids = list(ids) or [0]
    return f"WITH RECURSIVE {ancestry_cte(ids)} SELECT id FROM up", ids


def schools_under_sql(roots: Sequence[int]) -> tuple[str, list[int]]:
    """A SELECT of the ids of the schools at or under `roots`, with its parameters."""
    return units_under_sql(roots, SCHOOL)


def _ids(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def descendant_ids(unit_ids: Iterable[int], *, include_self: bool = True) -> set[int]:
    """Every unit at any depth under the given ones (and the given ones, with include_self)."""
    roots = sorted(set(unit_ids))
    if not roots:
        return set()
    column = "id" if include_self else "parent_id"
    seed = f"SELECT u.id, u.id FROM {UNIT_TABLE} u WHERE u.{column} IN ({placeholders(roots)})"
    return {row[0] for row in _ids(f"WITH RECURSIVE {subtree_cte(seed)} SELECT id FROM tree", roots)}


def ancestor_map(unit_ids: Iterable[int]) -> dict[int, set[int]]:
    """For each unit, itself and every unit above it."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    found: dict[int, set[int]] = {i: set() for i in ids}
    for start_id, unit_id in _ids(f"WITH RECURSIVE {ancestry_cte(ids)} SELECT start_id, id FROM up", ids):
        found[start_id].add(unit_id)
    return found


def ancestor_ids(unit_ids: Iterable[int], *, include_self: bool = True) -> set[int]:
    """Every unit above the given ones (and the given ones, with include_self)."""
    ids = set(unit_ids)
    found: set[int] = set()
    for start_id, above in ancestor_map(ids).items():
        found |= above if include_self else above - {start_id}
    return found


def nearest_authorities(unit_ids: Iterable[int]) -> dict[int, int | None]:
    """For each unit, the nearest authority strictly above it (None at the top of the tree)."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    sql = (
        f"WITH RECURSIVE {ancestry_cte(ids)} SELECT start_id, id FROM up "
        f"WHERE depth > 0 AND kind = '{AUTHORITY}' ORDER BY start_id, depth DESC"
    )
    # Deepest first: of a unit's authorities, the nearest is written last.
    return {**dict.fromkeys(ids), **dict(_ids(sql, ids))}


def school_ids_under(roots: Iterable[int]) -> set[int]:
    """The schools at or under the given units."""
    roots = sorted(set(roots))
    if not roots:
        return set()
    return {row[0] for row in _ids(*schools_under_sql(roots))}
