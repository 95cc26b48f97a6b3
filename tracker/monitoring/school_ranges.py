"""Shards of the sweep: contiguous ranges of school (unit) ids that together cover every id.

A range is half-open, [lo, hi), with an open end at either side for the first and the last shard, so a
school created after the shards were cut still falls in one of them (the last), and every task, flag
and checklist is in exactly one shard: sharding by school keeps each school's judgement (its flag, its
overdue count) inside one shard. Ranges are cut by counting schools, not ids, so each holds about the
same number of schools whatever the shape of the unit tree (one authority of 50,000 schools, or
thousands of small ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q

from tracker.org.models import Unit
from tracker.org.tree import SCHOOL, UNIT_TABLE


@dataclass(frozen=True)
class SchoolRange:
    lo: int | None = None  # inclusive; None: no lower bound
    hi: int | None = None  # exclusive; None: no upper bound

    @property
    def everything(self) -> bool:
        return self.lo is None and self.hi is None

    def q(self, field: str = "school_id") -> Q:
        q = Q()
        if self.lo is not None:
            q &= Q(**{f"{field}__gte": self.lo})
        if self.hi is not None:
            q &= Q(**{f"{field}__lt": self.hi})
        return q

    def sql(self, column: str, params: dict[str, Any]) -> str:
        """` AND <column> in range` with named parameters added to `params` ('' for everything)."""
        clause = ""
        if self.lo is not None:
            params["school_lo"] = self.lo
            clause += f" AND {column} >= %(school_lo)s"
        if self.hi is not None:
            params["school_hi"] = self.hi
            clause += f" AND {column} < %(school_hi)s"
        return clause

    def unit_ids(self) -> list[int] | None:
        """The ids of the units in the range (None for everything): what flags_judge takes."""
        if self.everything:
            return None
        return list(Unit.objects.filter(self.q("id")).order_by("id").values_list("id", flat=True))

    def __str__(self) -> str:
        return f"[{'' if self.lo is None else self.lo}, {'' if self.hi is None else self.hi})"


def school_ranges(*, per_shard: int) -> list[SchoolRange]:
    """Ranges of about `per_shard` schools each, in id order, covering every id (one range at least).

    The database numbers the schools and returns only each shard's first id, so memory grows with the
    number of shards, not of schools."""
    if per_shard < 1:
        raise ValueError("per_shard must be positive")
    with connection.cursor() as cursor:
        cursor.execute(_STARTS, [SCHOOL, per_shard])
        starts = [row[0] for row in cursor.fetchall()]
    return list(_between([None, *starts, None]))


# Schools numbered 1, 2, ... in id order; schools 1 + k * per_shard (k >= 1) open a shard. The first
# shard also takes every id below its first school.
_STARTS = f"""
SELECT id FROM (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM {UNIT_TABLE} WHERE kind = %s
) numbered
WHERE n > 1 AND (n - 1) %% %s = 0
ORDER BY id
"""


def _between(bounds: list[int | None]) -> Iterator[SchoolRange]:
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        yield SchoolRange(lo, hi)
