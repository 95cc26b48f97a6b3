"""/schools/{id}/: one school in a cycle: its tasks, flag, urges, score, and rank among its peers.

Anyone whose scope holds the school (its own accounts, its authorities); everyone else 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tracker import scope
from tracker.models import Role, Task, Unit, UnitKind, Urge
from tracker.org.tree import ancestor_ids, nearest_authorities
from tracker.reporting.overview import overview_schools
from tracker.reporting.school import school_overview

from ..access import chosen_cycle, visible_cycles
from ..timing import timing, urge_state


@login_required
def school_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    school = Unit.objects.select_related("parent").filter(pk=pk, kind=UnitKind.SCHOOL).first()
    if school is None or not any(scope.has_role_over(user, school, role) for role in Role.values):
        raise Http404
    above = ancestor_ids([school.pk])
    cycles = [cycle for cycle in visible_cycles(user) if cycle.authority_id in above]
    cycle = chosen_cycle(cycles, request.GET.get("cycle"))
    context = {"school": school, "cycles": cycles, "cycle": cycle}
    if cycle is not None:
        now = timezone.now()
        summary = school_overview(cycle=cycle, school=school, now=now)
        authority_id = nearest_authorities([school.pk])[school.pk]
        peers = overview_schools(cycle=cycle, roots=[authority_id], now=now).rows if authority_id else []
        mine = next((row for row in peers if row["school"]["id"] == school.pk), None)
        tasks = (
            Task.objects.filter(cycle=cycle, school=school)
            .select_related("criterion")
            .order_by("due_at", "criterion__code", "id")
        )
        context.update(
            {
                "summary": summary,
                "rank": mine["rank"] if mine else None,
                "peers": len(peers),
                "authority": Unit.objects.filter(pk=authority_id).first(),
                "rows": [{"task": task, **timing(task, now)} for task in tasks],
                "urges": [
                    {"urge": urge, "state": urge_state(urge, now)}
                    for urge in Urge.objects.filter(cycle=cycle, school=school).order_by("-created_at", "-id")
                ],
                "can_urge": scope.has_role_over(user, school, Role.SUPERVISOR),
            }
        )
    return render(request, "web/school.html", context)
