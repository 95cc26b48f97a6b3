"""/dashboard/: a cycle's totals, charts and ranking for supervisors and inspectors; ?unit= drills down.

It reads through the same selectors as GET /api/v1/dashboards/overview/ (tracker.dashboards), with
the same access rules: a school account 403; a cycle out of scope 404; ?unit= out of scope 404, a
school or a unit outside the cycle 400. The ranking is paginated (PAGE_SIZE rows a page) and the
completion chart shows at most charts.MAX_BARS bars, so a 12,000-school cycle ships one page of rows.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tracker import scope
from tracker.models import Unit, UnitKind
from tracker.org.models import AUTHORITY_ROLES
from tracker.reporting.overview import overview_schools, overview_units
from tracker.reporting.trends import trend_totals

from .. import charts
from ..access import dashboard_roots, district_cycles

PAGE_SIZE = 50
TREND_DAYS = 90


def _unit(user, raw: str | None, cycle) -> Unit | None:
    if raw in (None, ""):
        return None
    try:
        pk = int(raw)
    except ValueError:
        raise BadRequest("unit must be a number") from None
    unit = Unit.objects.filter(pk=pk).first()
    if unit is None or not any(scope.has_role_over(user, unit, role) for role in AUTHORITY_ROLES):
        raise Http404
    if unit.kind != UnitKind.AUTHORITY or not scope.unit_in_cycle(unit=unit, cycle=cycle):
        raise BadRequest("unit must be an authority of the cycle")
    return unit


def _trail(unit: Unit | None, top: int) -> list[Unit]:
    """The units from the cycle's authority (or the caller's root) down to `unit`, for the breadcrumb."""
    trail: list[Unit] = []
    while unit is not None:
        trail.append(unit)
        if unit.pk == top:
            break
        unit = unit.parent
    return list(reversed(trail))


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    cycles, cycle = district_cycles(request)
    context: dict = {"cycles": cycles, "cycle": cycle}
    if cycle is None:
        return render(request, "web/dashboard.html", context)
    roots = dashboard_roots(user, cycle)
    unit = _unit(user, request.GET.get("unit"), cycle)
    now = timezone.now()
    if unit is not None:
        overview = overview_units(cycle=cycle, unit=unit, now=now)
    else:
        overview = overview_schools(cycle=cycle, roots=roots, now=now)
    key = "unit" if overview.rolled_up else "school"
    rows = overview.rows
    query = request.GET.get("q", "").strip()
    shown = [row for row in rows if query.lower() in row[key]["name"].lower()] if query else rows
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate(now)
    points = trend_totals(
        cycle=cycle,
        roots=(unit.pk,) if unit is not None else roots,
        since=today - timedelta(days=TREND_DAYS - 1),
        until=today,
    )
    root = roots[0] if len(roots) == 1 else None
    drill = Unit.objects.filter(pk=root, children__kind=UnitKind.AUTHORITY).exists() if root and unit is None else False
    context.update(
        {
            "unit": unit,
            "trail": _trail(unit, root or cycle.authority_id),
            "root": root,
            "drill": drill,
            "totals": overview.totals,
            "key": key,
            "page": page,
            "query": query,
            "generated_at": now,
            "charts": {
                "completion": charts.completion(rows, key=key),
                "status": charts.status(overview.totals),
                "trend": charts.trend(points),
            },
        }
    )
    return render(request, "web/dashboard.html", context)
