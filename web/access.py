"""Who may open which page: the domain's scope (tracker.scope), said the way pages need it.

Out of scope is 404 (reading exactly like "not found"), a role that may not act is 403.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.urls import reverse

from tracker import scope
from tracker.models import Cycle, CycleStatus, Role
from tracker.org.models import AUTHORITY_ROLES


def home_url(user) -> str:
    """Where "/" sends a person: the page of their main role."""
    if not user.is_authenticated:
        return reverse("web:login")
    roles = scope.roles_of(user)
    if Role.SUPERVISOR in roles:
        return reverse("web:dashboard")
    if Role.INSPECTOR in roles:
        return reverse("web:oversight")
    if Role.SCHOOL in roles:
        return reverse("web:tasks")
    return reverse("web:notifications")


def is_authority(user) -> bool:
    return user.is_superuser or bool(scope.roles_of(user) & set(AUTHORITY_ROLES))


def require_authority(user) -> None:
    if not is_authority(user):
        raise PermissionDenied


def visible_cycles(user) -> list[Cycle]:
    """The cycles the person sees, active ones first, newest first."""
    cycles = scope.cycles_visible(user).exclude(status=CycleStatus.DRAFT).select_related("authority")
    return sorted(cycles, key=lambda c: (c.status != CycleStatus.ACTIVE, -c.starts_on.toordinal(), -c.pk))


def chosen_cycle(cycles: list[Cycle], raw: str | None) -> Cycle | None:
    """`?cycle=` among the visible cycles (404 for any other, 400 for a non-number), else the latest active one."""
    if raw in (None, ""):
        return cycles[0] if cycles else None
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        raise BadRequest("cycle must be a number") from None
    for cycle in cycles:
        if cycle.pk == wanted:
            return cycle
    raise Http404


def district_cycles(request) -> tuple[list[Cycle], Cycle | None]:
    """For the district pages (supervisors and inspectors, 403 for others): the visible cycles and the chosen one."""
    require_authority(request.user)
    cycles = visible_cycles(request.user)
    return cycles, chosen_cycle(cycles, request.GET.get("cycle"))


def dashboard_roots(user, cycle: Cycle) -> tuple[int, ...]:
    """The units whose schools the person sees in this cycle's district pages (the API's rule): a cycle
    out of scope is 404, one where the person is no supervisor or inspector over its schools 403."""
    access = scope.dashboard_access(user=user, cycle_id=cycle.pk)
    if access.cycle is None:
        raise Http404
    if not access.roots:
        raise PermissionDenied
    return access.roots
