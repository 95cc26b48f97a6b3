"""The two grains the rollups count at: per school (the overview) and per criterion x block of a unit's
schools (the criteria view). One description each, so that writing, folding, reading and verifying
the rows and edges (tracker.monitoring.rollups, rollup_edges, rollup_reads, rollup_verify) is one piece
of code for both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL

from tracker.org.models import Unit, UnitKind

from .rollup_models import ROLLUP_BLOCK, CriterionRollup, CriterionRollupEdge, RollupEdge, SchoolRollup


@dataclass(frozen=True)
class Grain:
    name: str
    rows: type[models.Model]
    edges: type[models.Model]
    keys: tuple[str, ...]  # the key columns of its rows and edges (after round_kind, round_id)
    key_sql: tuple[str, ...]  # the same, over a task `t` joined to its school `s`
    task_sql: str  # which of a round's tasks it counts (SQL over `t`)
    task_q: Q  # the same, for the ORM
    task_fields: tuple[str, ...]  # the task values (ORM) its Python key needs
    key_of: Callable[[dict[str, Any]], tuple]  # a task's key, from those values
    # Its rows carry the clock generation that last wrote them (what an overview patch looks for).
    stamped: bool = False

    @property
    def rows_table(self) -> str:
        return self.rows._meta.db_table

    @property
    def edges_table(self) -> str:
        return self.edges._meta.db_table


SCHOOL_GRAIN = Grain(
    name="school",
    rows=SchoolRollup,
    edges=RollupEdge,
    keys=("school_id",),
    key_sql=("t.school_id",),
    task_sql="TRUE",
    task_q=Q(),
    task_fields=("school_id",),
    key_of=lambda task: (task["school_id"],),
    stamped=True,
)
CRITERION_GRAIN = Grain(
    name="criterion",
    rows=CriterionRollup,
    edges=CriterionRollupEdge,
    keys=("criterion_id", "unit_id", "block"),
    key_sql=("t.criterion_id", "COALESCE(s.parent_id, 0)", f"t.school_id / {ROLLUP_BLOCK}"),
    task_sql="t.criterion_id IS NOT NULL",
    task_q=Q(criterion_id__isnull=False),
    task_fields=("criterion_id", "school__parent_id", "school_id"),
    key_of=lambda task: (task["criterion_id"], task["school__parent_id"] or 0, task["school_id"] // ROLLUP_BLOCK),
)
GRAINS = (SCHOOL_GRAIN, CRITERION_GRAIN)

# --- Blocks of schools (the criterion grain's unit of staleness) ----------------------------------------
Block = tuple[int, int]  # (unit_id, block): the schools whose parent is unit_id and id // ROLLUP_BLOCK is block


def ids_in(ids: Sequence[int]) -> Any:
    """`ids` for a `__in` filter: on PostgreSQL one array parameter, whatever the number of ids."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))
    return list(ids)


def blocks_of(school_ids: Sequence[int]) -> set[Block]:
    """The blocks the schools are in now."""
    rows = Unit.objects.filter(pk__in=ids_in(school_ids)).values_list("parent_id", "pk")
    return {(parent or 0, pk // ROLLUP_BLOCK) for parent, pk in rows}


def blocks_sql(blocks: Sequence[Block]) -> tuple[str, list[int]]:
    """`(unit_id, block) IN (...)` over the pairs (PostgreSQL and SQLite both take row values)."""
    return (
        f"(unit_id, block) IN (VALUES {', '.join(['(%s, %s)'] * len(blocks))})",
        [v for pair in blocks for v in pair],
    )


def schools_in(blocks: Sequence[Block]) -> list[int]:
    where, params = blocks_sql(blocks)
    where = where.replace("(unit_id, block)", f"(COALESCE(parent_id, 0), id / {ROLLUP_BLOCK})")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Unit._meta.db_table} WHERE kind = %s AND {where}", [UnitKind.SCHOOL, *params])
        return [row[0] for row in cursor.fetchall()]
