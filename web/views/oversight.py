"""/oversight/: supervision of the supervision. For each flag of the cycle: when it opened, when the
school was first urged and how long that took, when it answered; time-limit breaches first.

The same report and access rules as GET /api/v1/dashboards/oversight/ (supervisors and inspectors).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tracker.reporting.oversight import oversight_report

from .. import charts
from ..access import dashboard_roots, district_cycles

PAGE_SIZE = 50


@login_required
def oversight(request: HttpRequest) -> HttpResponse:
    user = request.user
    cycles, cycle = district_cycles(request)
    context: dict = {"cycles": cycles, "cycle": cycle}
    if cycle is not None:
        roots = dashboard_roots(user, cycle)
        now = timezone.now()
        report = oversight_report(cycle=cycle, roots=roots, now=now)
        # time-limit breaches first, then open flags, oldest first
        rows = sorted(
            report["flags"], key=lambda row: (not row["breach"], row["resolved_at"] is not None, row["opened_at"])
        )
        context.update(
            {
                "report": report,
                "totals": report["totals"],
                "sla": report["sla"],
                "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
                "breaches": sum(1 for row in rows if row["breach"]),
                "chart": charts.oversight(report["totals"]),
            }
        )
    else:
        context["chart"] = charts.oversight({})
    return render(request, "web/oversight.html", context)
