"""The integrity dashboard of one campaign (CONTRACT section 8): per school, how far its checklist is,
what it found, how its rectifications stand, and its register of the campaign's year; or, with a
unit, one row per child unit with its schools summed.

Every count is aggregated in the database: one GROUP BY school over the campaign's checks, one over the
registers' risk points, whatever the number of schools; the rectifications (the campaign's tasks) are
read from the campaign's rollups (tracker.monitoring.rollups), exact as of `now`. A rectification is
open until approved (`closed`); it is closed on time when its latest submission came at or before the
due time then in force (the rule of on_time_rate, tracker.reporting.rules); `rectifications_overdue`
uses the one overdue rule (tracker.assessment.rules).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.db.models.expressions import RawSQL

from tracker.integrity.models import Campaign, Check, Register, RegisterStatus, RiskLevel, RiskPoint
from tracker.integrity.rules import has_process_map_q
from tracker.monitoring.rollup_models import RoundKind
from tracker.monitoring.rollup_reads import school_counts_sql
from tracker.org.models import Unit
from tracker.org.tree import SCHOOL, UNIT_TABLE, schools_under_sql, subtree_cte

COUNTS = (
    "checks_done",
    "checks_total",
    "findings",
    "rectifications_open",
    "rectifications_overdue",
    "rectifications_closed",
    "rectifications_closed_on_time",
    "risk_points",
    "high_risk_points",
    "high_with_process_map",
)
REGISTER_STATUSES = tuple(RegisterStatus.values)


def _grouped(qs, **aggregates: Any) -> dict[int, dict[str, int]]:
    return {row.pop("school_id"): row for row in qs.order_by().values("school_id").annotate(**aggregates)}


def _rectifications(*, campaign: Campaign, now: datetime) -> dict[int, dict[str, int]]:
    """Per school of the campaign, its rectifications (the campaign's tasks), read from its rollups."""
    sql, params = school_counts_sql(kind=RoundKind.CAMPAIGN, round_id=campaign.pk, now=now, only_tree=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, record, strict=True)) for record in cursor.fetchall()]
    return {
        row["school_id"]: {
            "rectifications_open": row["tasks"] - row["approved"],
            "rectifications_overdue": row["overdue"],
            "rectifications_closed": row["approved"],
            "rectifications_closed_on_time": row["approved_in_time"],
        }
        for row in rows
    }


def school_rows(*, campaign: Campaign, school_ids: Iterable[int] | RawSQL, now: datetime) -> list[dict[str, Any]]:
    """One row per school of `school_ids` (the ids, or a subquery of them), by name."""
    checks = _grouped(
        Check.objects.filter(campaign=campaign, school_id__in=school_ids),
        checks_total=Count("id"),
        checks_done=Count("id", filter=Q(result__isnull=False)),
        findings=Count("id", filter=Q(result="finding")),
    )
    rectifications = _rectifications(campaign=campaign, now=now)
    high = Q(level=RiskLevel.HIGH)
    risks = _grouped(
        RiskPoint.objects.filter(register__year=campaign.year, school_id__in=school_ids),
        risk_points=Count("id"),
        high_risk_points=Count("id", filter=high),
        high_with_process_map=Count("id", filter=high & has_process_map_q()),
    )
    statuses = dict(
        Register.objects.filter(year=campaign.year, school_id__in=school_ids).values_list("school_id", "status")
    )
    rows = []
    for school_id, name in (
        Unit.objects.filter(id__in=school_ids, kind=SCHOOL).order_by("name", "id").values_list("id", "name")
    ):
        row: dict[str, Any] = {"school": {"id": school_id, "name": name}}
        for source in (checks, rectifications, risks):
            row.update(source.get(school_id, {}))
        row = {"school": row["school"], **{name: row.get(name, 0) for name in COUNTS}}
        row["register_status"] = statuses.get(school_id, RegisterStatus.DRAFT)
        rows.append(row)
    return rows


def _totals(rows: list[dict[str, Any]], *, schools: int, registers: Counter) -> dict[str, Any]:
    return {
        "schools": schools,
        **{name: sum(row[name] for row in rows) for name in COUNTS},
        "registers": {status: registers.get(status, 0) for status in REGISTER_STATUSES},
    }


def integrity_schools(*, campaign: Campaign, roots: Iterable[int], now: datetime) -> dict[str, Any]:
    """The dashboard for the schools under `roots` (the caller's view of the campaign)."""
    rows = school_rows(campaign=campaign, school_ids=RawSQL(*schools_under_sql(sorted(set(roots)))), now=now)
    registers = Counter(row["register_status"] for row in rows)
    return {
        "campaign": campaign.pk,
        "generated_at": now,
        "totals": _totals(rows, schools=len(rows), registers=registers),
        "schools": rows,
    }


def _schools_by_child(unit: Unit) -> dict[int, int]:
    """school id -> the child of `unit` it sits under (itself when the child is a school)."""
    seed = f"SELECT u.id, u.id FROM {UNIT_TABLE} u WHERE u.parent_id = %s"
    sql = (
        f"WITH RECURSIVE {subtree_cte(seed)} "
        f"SELECT t.id, t.top_id FROM tree t JOIN {UNIT_TABLE} s ON s.id = t.id AND s.kind = '{SCHOOL}'"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [unit.pk])
        return dict(cursor.fetchall())


def integrity_units(*, campaign: Campaign, unit: Unit, now: datetime) -> dict[str, Any]:
    """One row per child unit of `unit`, its schools' counts summed and their registers counted by status."""
    top_of = _schools_by_child(unit)
    rows = school_rows(campaign=campaign, school_ids=list(top_of), now=now)
    children = {c.pk: c for c in Unit.objects.filter(parent=unit).order_by("name", "id")}
    summed: dict[int, dict[str, Any]] = {
        pk: {"unit": {"id": pk, "name": c.name, "kind": c.kind}, "schools": 0, **dict.fromkeys(COUNTS, 0)}
        for pk, c in children.items()
    }
    registers: dict[int, Counter] = {pk: Counter() for pk in children}
    for row in rows:
        top = top_of[row["school"]["id"]]
        summed[top]["schools"] += 1
        for name in COUNTS:
            summed[top][name] += row[name]
        registers[top][row["register_status"]] += 1
    units = [
        {**summed[pk], "registers": {status: registers[pk].get(status, 0) for status in REGISTER_STATUSES}}
        for pk in children
    ]
    return {
        "campaign": campaign.pk,
        "generated_at": now,
        "unit": {"id": unit.pk, "name": unit.name, "kind": unit.kind},
        "totals": _totals(rows, schools=len(rows), registers=Counter(r["register_status"] for r in rows)),
        "units": units,
    }
