"""Reads of inspections, cases and notices, each scoped for the caller.

Who sees what (CONTRACT section 9):
- rounds and cases: the supervisors and inspectors of the authority or of one above it; schools never;
- notices: every account of the authority or of a unit under it, schools included, and the staff of
  the authorities above it.
The statistics are counted by the database (COUNT/SUM with GROUP BY), never by loading rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from ..models import Role
from ..scope import AUTHORITY_ROLES, ancestor_ids, unit_ids_for
from .models import Case, CaseRead, CaseType, Inspection, InspectionKind, InspectionTarget, Notice, TargetKind


def _authority_scope(user) -> set[int] | None:
    """Units the user reaches as a supervisor or inspector; None means every unit (superuser)."""
    return unit_ids_for(user, AUTHORITY_ROLES)


def inspections_visible(user) -> QuerySet[Inspection]:
    ids = _authority_scope(user)
    qs = Inspection.objects.all() if ids is None else Inspection.objects.filter(authority_id__in=ids)
    return qs.select_related("authority").prefetch_related("targets")


def cases_visible(user) -> QuerySet[Case]:
    """The cases a user may read: never a school account's, whatever the case (404 for them)."""
    ids = _authority_scope(user)
    return Case.objects.all() if ids is None else Case.objects.filter(authority_id__in=ids)


def cases_writable(user) -> QuerySet[Case]:
    """The cases a user may change: the inspectors' of the authority or above it."""
    ids = unit_ids_for(user, [Role.INSPECTOR])
    return Case.objects.all() if ids is None else Case.objects.filter(authority_id__in=ids)


def notices_visible(user) -> QuerySet[Notice]:
    """Notices of the authorities above the user's units, and of those in the user's scope."""
    if not user.is_authenticated:
        return Notice.objects.none()
    if user.is_superuser:
        return Notice.objects.all()
    own = set(user.memberships.values_list("unit_id", flat=True))
    below = unit_ids_for(user) or set()
    return Notice.objects.filter(Q(authority_id__in=ancestor_ids(own)) | Q(authority_id__in=below))


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
