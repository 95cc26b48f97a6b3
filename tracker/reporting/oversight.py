"""Supervision of the supervision: for each flag, did the supervisors urge the school, and how fast,
and did the school answer, and how fast. Computed in the database (one row per flag, totals by one
aggregate), so the inspector sees which lagging schools were followed up and which were not."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from tracker.assessment.models import Cycle
from tracker.monitoring.models import Flag, Urge
from tracker.org.tree import schools_under_sql


def sla() -> tuple[timedelta, timedelta]:
    rules = settings.TRACKER
    return timedelta(days=float(rules["URGE_SLA_DAYS"])), timedelta(days=float(rules["RESPONSE_SLA_DAYS"]))


def _hours(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() / 3600, 1)


def flags_followed_up(*, cycle: Cycle, roots: Iterable[int], now: datetime) -> QuerySet[Flag]:
    """The cycle's flags of the schools under `roots`, each with its first urge while it was open."""
    schools = RawSQL(*schools_under_sql(sorted(set(roots))))
    first_urge = Urge.objects.filter(
        cycle_id=OuterRef("cycle_id"),
        school_id=OuterRef("school_id"),
        created_at__gte=OuterRef("opened_at"),
        created_at__lte=Coalesce(OuterRef("resolved_at"), Value(now)),
    ).order_by("created_at", "id")
    return (
        Flag.objects.filter(cycle=cycle, school_id__in=schools)
        .annotate(
            first_urge_id=Subquery(first_urge.values("id")[:1]),
            first_urge_at=Subquery(first_urge.values("created_at")[:1]),
            urged_by=Subquery(first_urge.values("created_by__username")[:1]),
            responded_at=Subquery(first_urge.values("responded_at")[:1]),
            school_name=F("school__name"),
        )
        .order_by("opened_at", "school_name", "id")
    )


def urge_late(flag: Flag, *, now: datetime, urge_sla: timedelta) -> bool:
    """The urge came after the limit, or has not come for an open flag past it (as the totals count)."""
    if flag.first_urge_at is not None:
        return flag.first_urge_at > flag.opened_at + urge_sla
    return flag.resolved_at is None and flag.opened_at < now - urge_sla


def answer_late(flag: Flag, *, now: datetime, response_sla: timedelta) -> bool:
    """The school's answer to the first urge came after the limit, or has not come past it."""
    if flag.first_urge_at is None:
        return False
    return (flag.responded_at or now) > flag.first_urge_at + response_sla


def _breaches(flag: Flag, *, now: datetime, urge_sla: timedelta, response_sla: timedelta) -> dict[str, bool]:
    late = {
        "urge_late": urge_late(flag, now=now, urge_sla=urge_sla),
        "answer_late": answer_late(flag, now=now, response_sla=response_sla),
    }
    return {**late, "breach": any(late.values())}


def oversight_report(*, cycle: Cycle, roots: Iterable[int], now: datetime) -> dict[str, Any]:
    """Totals against the time limits, and one row per flag; a row says which limit it missed
    (`urge_late`, `answer_late`; `breach` for either)."""
    urge_sla, response_sla = sla()
    flags = flags_followed_up(cycle=cycle, roots=roots, now=now)
    totals = flags.aggregate(
        flags=Count("id"),
        open=Count("id", filter=Q(resolved_at__isnull=True)),
        urged=Count("id", filter=Q(first_urge_at__isnull=False)),
        urged_within_sla=Count("id", filter=Q(first_urge_at__lte=F("opened_at") + urge_sla)),
        not_urged_past_sla=Count(
            "id", filter=Q(first_urge_at__isnull=True, opened_at__lt=now - urge_sla, resolved_at__isnull=True)
        ),
        answered=Count("id", filter=Q(responded_at__isnull=False)),
        answered_within_sla=Count("id", filter=Q(responded_at__lte=F("first_urge_at") + response_sla)),
    )
    rows = [
        {
            "id": flag.pk,
            "school": {"id": flag.school_id, "name": flag.school_name},
            "severity": flag.severity,
            "overdue_count": flag.overdue_count,
            "opened_at": flag.opened_at,
            "escalated_at": flag.escalated_at,
            "first_urge_at": flag.first_urge_at,
            "urge": flag.first_urge_id,
            "urged_by": flag.urged_by,
            "hours_to_urge": _hours(flag.first_urge_at, flag.opened_at),
            "responded_at": flag.responded_at,
            "hours_to_response": _hours(flag.responded_at, flag.first_urge_at),
            "resolved_at": flag.resolved_at,
            **_breaches(flag, now=now, urge_sla=urge_sla, response_sla=response_sla),
        }
        for flag in flags
    ]
    return {
        "cycle": cycle.pk,
        "generated_at": now,
        "sla": {"urge_days": urge_sla / timedelta(days=1), "response_days": response_sla / timedelta(days=1)},
        "totals": totals,
        "flags": rows,
    }
