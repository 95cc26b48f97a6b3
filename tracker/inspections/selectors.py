"""Reads of inspections and cases with a rule in them. Who sees what is tracker.scope's
(inspections_visible, cases_visible, notices_visible).

The statistics are counted by the database (COUNT/SUM with GROUP BY), never by loading rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from .models import Case, CaseRead, CaseType, Inspection, InspectionKind, InspectionTarget, TargetKind


def case_reads(case: Case) -> QuerySet[CaseRead]:
    return CaseRead.objects.filter(case=case).select_related("reader").order_by("-read_at", "-id")


@dataclass(frozen=True)
class InspectionStats:
    authority_id: int
    year: int
    rounds: int
    person_visits: int
    rounds_by_kind: dict[str, int]
    targets_by_kind: dict[str, int]
    cases: int
    cases_by_type: dict[str, int]


def _counted(rows: QuerySet, key: str, keys: list[str]) -> dict[str, int]:
    counts = {row[key]: row["n"] for row in rows}
    return {k: counts.get(k, 0) for k in keys}


def inspection_stats(*, authority_ids: set[int], authority_id: int, year: int) -> InspectionStats:
    """Rounds, person-visits, targets by kind and cases by type of the authorities in
    `authority_ids` (an authority and those under it) in one calendar year. Four aggregate queries."""
    rounds = Inspection.objects.filter(authority_id__in=authority_ids, held_on__year=year)
    totals: dict[str, Any] = rounds.aggregate(
        rounds=Count("id"),
        person_visits=Sum("inspectors"),
        **{kind: Count("id", filter=Q(kind=kind)) for kind in InspectionKind.values},
    )
    targets = InspectionTarget.objects.filter(inspection__in=rounds).values("kind").annotate(n=Count("id")).order_by()
    cases = (
        Case.objects.filter(authority_id__in=authority_ids, occurred_on__year=year)
        .values("type")
        .annotate(n=Count("id"))
        .order_by()
    )
    cases_by_type = _counted(cases, "type", CaseType.values)
    return InspectionStats(
        authority_id=authority_id,
        year=year,
        rounds=totals["rounds"],
        person_visits=totals["person_visits"] or 0,
        rounds_by_kind={kind: totals[kind] for kind in InspectionKind.values},
        targets_by_kind=_counted(targets, "kind", TargetKind.values),
        cases=sum(cases_by_type.values()),
        cases_by_type=cases_by_type,
    )
