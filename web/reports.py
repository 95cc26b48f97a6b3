"""Reads the pages need that the API does not serve yet.

trend_totals belongs beside tracker's trend_series (it sums the same snapshots) and oversight_rows beside
oversight_report (it judges the same time limits); they live here until the domain's reporting package
settles (issue 8), then move there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import Sum

from tracker.models import Cycle, DailySnapshot
from tracker.org.tree import descendant_ids
from tracker.reporting.oversight import sla
from tracker.reporting.rules import rate


def trend_totals(*, cycle: Cycle, roots: Sequence[int], since: date, until: date) -> list[dict[str, Any]]:
    """One point per day: the daily snapshots of the schools under `roots` summed, rates over the sums."""
    snapshots = DailySnapshot.objects.filter(cycle=cycle, date__range=(since, until))
    if list(roots) != [cycle.authority_id]:
        snapshots = snapshots.filter(school_id__in=descendant_ids(roots))
    days = (
        snapshots.values("date")
        .annotate(
            tasks=Sum("tasks"),
            approved=Sum("approved"),
            overdue=Sum("overdue"),
            due_passed=Sum("due_passed"),
            on_time=Sum("on_time"),
        )
        .order_by("date")
    )
    return [
        {
            "date": day["date"],
            "approved": day["approved"],
            "overdue": day["overdue"],
            "completion_rate": rate(day["approved"], day["tasks"]),
            "on_time_rate": rate(day["on_time"], day["due_passed"]),
        }
        for day in days
    ]


def oversight_rows(report: dict[str, Any], *, now: datetime) -> list[dict[str, Any]]:
    """The oversight report's flags, each marked where a time limit was missed, breaches first.

    An urge is late when it came after the urge limit, or has not come for an open flag past it; an
    answer is late when it came after the answer limit, or has not come past it.
    """
    urge_sla, response_sla = sla()
    rows = []
    for flag in report["flags"]:
        urged, answered = flag["first_urge_at"], flag["responded_at"]
        if urged is not None:
            urge_late = urged > flag["opened_at"] + urge_sla
            answer_late = (answered or now) > urged + response_sla
        else:  # as the report's totals count it: only an open flag is left unurged
            urge_late = flag["resolved_at"] is None and now > flag["opened_at"] + urge_sla
            answer_late = False
        rows.append({**flag, "urge_late": urge_late, "answer_late": answer_late, "breach": urge_late or answer_late})
    rows.sort(key=lambda row: (not row["breach"], row["resolved_at"] is not None, row["opened_at"]))
    return rows
