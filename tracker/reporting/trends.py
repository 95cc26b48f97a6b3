"""Trends: the daily snapshots between two days, per school under some roots or per child of a unit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.db.models.expressions import RawSQL

from tracker.assessment.models import Cycle
from tracker.org.models import Unit
from tracker.org.tree import SCHOOL, UNIT_TABLE, placeholders, schools_under_sql, subtree_cte

from .models import DailySnapshot
from .rules import RATES, rates, rates_sql

_SCHOOLS_UNDER_ROOTS = subtree_cte(f"SELECT u.id, u.id FROM {UNIT_TABLE} u WHERE u.id IN ({{roots}})")
_CHILDREN_OF_UNIT = subtree_cte(f"SELECT u.id, u.id FROM {UNIT_TABLE} u WHERE u.parent_id = %s")

_TREND_FLAT_SQL = f"""
WITH RECURSIVE {_SCHOOLS_UNDER_ROOTS}
SELECT s.id, s.name, s.kind, d.date, 1, d.tasks, d.approved, d.submitted, d.overdue,
       {rates_sql("d.{}", named=False)},
       d.score
FROM tree
JOIN {UNIT_TABLE} s ON s.id = tree.id AND s.kind = '{SCHOOL}'
JOIN tracker_dailysnapshot d ON d.school_id = s.id AND d.cycle_id = %s AND d.date BETWEEN %s AND %s
ORDER BY s.name, s.id, d.date
"""

_TREND_ROLLUP_SQL = f"""
WITH RECURSIVE {_CHILDREN_OF_UNIT},
points AS (
    SELECT tree.top_id, d.date, COUNT(*) AS schools, SUM(d.tasks) AS tasks, SUM(d.approved) AS approved,
           SUM(d.submitted) AS submitted, SUM(d.overdue) AS overdue, SUM(d.due_passed) AS due_passed,
           SUM(d.on_time) AS on_time, SUM(d.original_due_passed) AS original_due_passed,
           SUM(d.on_time_original) AS on_time_original, AVG(d.score) AS score
    FROM tree
    JOIN {UNIT_TABLE} s ON s.id = tree.id AND s.kind = '{SCHOOL}'
    JOIN tracker_dailysnapshot d ON d.school_id = s.id AND d.cycle_id = %s AND d.date BETWEEN %s AND %s
    GROUP BY tree.top_id, d.date
)
SELECT c.id, c.name, c.kind, p.date, p.schools, CAST(p.tasks AS BIGINT), CAST(p.approved AS BIGINT),
       CAST(p.submitted AS BIGINT), CAST(p.overdue AS BIGINT),
       {rates_sql("p.{}", named=False)},
       ROUND(p.score, 2)
FROM {UNIT_TABLE} c JOIN points p ON p.top_id = c.id
WHERE c.parent_id = %s
ORDER BY c.name, c.id, p.date
"""

_POINT_COLUMNS = ("schools", "tasks", "approved", "submitted", "overdue", *(name for name, _, _ in RATES), "score")


def trend_series(
    *, cycle: Cycle, since: date, until: date, roots: Sequence[int] = (), unit: Unit | None = None
) -> list[dict[str, Any]]:
    """Daily snapshots between `since` and `until`: per school under `roots`, or per child of `unit`.

    A point has the day's counts, its rates over them and the score (a rollup: summed counts, rates
    over the sums, the mean school score, and how many schools had a snapshot that day).
    """
    if unit is not None:
        sql, params = _TREND_ROLLUP_SQL, [unit.pk, cycle.pk, since, until, unit.pk]
    else:
        roots = sorted(set(roots))
        sql, params = _TREND_FLAT_SQL.format(roots=placeholders(roots)), [*roots, cycle.pk, since, until]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        records = cursor.fetchall()
    series: list[dict[str, Any]] = []
    current = None
    for unit_id, name, kind, day, *values in records:
        if unit_id != current:
            ref = {"id": unit_id, "name": name, "kind": kind} if unit else {"id": unit_id, "name": name}
            series.append({"unit" if unit else "school": ref, "points": []})
            current = unit_id
        point = {"date": day if isinstance(day, date) else date.fromisoformat(day)}
        point.update(zip(_POINT_COLUMNS, values, strict=True))
        point["score"] = float(point["score"]) if point["score"] is not None else None
        if unit is None:
            del point["schools"]
        series[-1]["points"].append(point)
    return series


# What the web dashboard's one series sums per day: enough for every rate of RATES.
_SUMMED = ("tasks", "approved", "overdue", "due_passed", "on_time", "original_due_passed", "on_time_original")


def trend_totals(*, cycle: Cycle, roots: Sequence[int], since: date, until: date) -> list[dict[str, Any]]:
    """One point per day between `since` and `until`: the snapshots of every school under `roots`
    summed (approved, overdue), with the rates over the sums (the rollup rule). The web dashboard's
    trend: one series whatever the number of schools, so 12,000 schools make 90 points, not 10^6."""
    snapshots = DailySnapshot.objects.filter(cycle=cycle, date__range=(since, until))
    if sorted(set(roots)) != [cycle.authority_id]:  # the whole cycle needs no tree walk
        snapshots = snapshots.filter(school_id__in=RawSQL(*schools_under_sql(sorted(set(roots)))))
    days = snapshots.values("date").annotate(**{name: Sum(name) for name in _SUMMED}).order_by("date")
    return [{"date": day["date"], "approved": day["approved"], "overdue": day["overdue"], **rates(day)} for day in days]
