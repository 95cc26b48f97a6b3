"""Who sees what: the one scoping definition every view, dashboard and export goes through.

A school account sees only its own school. A supervisor or inspector sees every unit under their
authority, at any depth. Superusers see everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from .models import Cycle, Membership, Role, Task, Unit, UnitKind

AUTHORITY_ROLES = (Role.SUPERVISOR, Role.INSPECTOR)


def descendant_ids(unit_ids: Iterable[int], *, include_self: bool = True) -> set[int]:
    """All units under the given ones, one query per tree level."""
    frontier = set(unit_ids)
    found = set(frontier) if include_self else set()
    while frontier:
        frontier = set(Unit.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - found
        found |= frontier
    return found


def ancestor_ids(unit_ids: Iterable[int], *, include_self: bool = True) -> set[int]:
    frontier = set(unit_ids)
    found = set(frontier) if include_self else set()
    while frontier:
        parents = set(Unit.objects.filter(id__in=frontier, parent__isnull=False).values_list("parent_id", flat=True))
        frontier = parents - found
        found |= frontier
    return found


def _memberships(user, roles: Iterable[str] | None = None) -> QuerySet[Membership]:
    qs = Membership.objects.filter(user=user)
    if roles is not None:
        qs = qs.filter(role__in=list(roles))
    return qs


def unit_ids_for(user, roles: Iterable[str] | None = None) -> set[int] | None:
    """Ids of the units `user` reaches through the given roles; None means every unit (superuser)."""
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return None
    roles = list(roles) if roles is not None else list(Role.values)
    ids: set[int] = set()
    authority_roots = set(
        _memberships(user, [r for r in roles if r in AUTHORITY_ROLES]).values_list("unit_id", flat=True)
    )
    if authority_roots:
        ids |= descendant_ids(authority_roots)
    if Role.SCHOOL in roles:
        ids |= set(_memberships(user, [Role.SCHOOL]).values_list("unit_id", flat=True))
    return ids


def units_visible(user) -> QuerySet[Unit]:
    ids = unit_ids_for(user)
    return Unit.objects.all() if ids is None else Unit.objects.filter(id__in=ids)


def school_ids_for(user, roles: Iterable[str] | None = None) -> set[int] | None:
    ids = unit_ids_for(user, roles)
    if ids is None:
        return None
    return set(Unit.objects.filter(id__in=ids, kind=UnitKind.SCHOOL).values_list("id", flat=True))


def tasks_visible(user) -> QuerySet[Task]:
    ids = school_ids_for(user)
    return Task.objects.all() if ids is None else Task.objects.filter(school_id__in=ids)


def cycles_visible(user) -> QuerySet[Cycle]:
    """Cycles run by an authority in the caller's scope or above it (a school sees its district's)."""
    if not user.is_authenticated:
        return Cycle.objects.none()
    if user.is_superuser:
        return Cycle.objects.all()
    own = set(_memberships(user).values_list("unit_id", flat=True))
    below = unit_ids_for(user) or set()
    return Cycle.objects.filter(Q(authority_id__in=ancestor_ids(own)) | Q(authority_id__in=below))


def has_role_over(user, unit: Unit | int, role: str) -> bool:
    """Whether `user` may act as `role` on `unit` (a school for school actions, any unit otherwise)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    unit_id = unit if isinstance(unit, int) else unit.pk
    if role == Role.SCHOOL:
        return _memberships(user, [Role.SCHOOL]).filter(unit_id=unit_id).exists()
    roots = set(_memberships(user, [role]).values_list("unit_id", flat=True))
    return bool(roots) and bool(ancestor_ids([unit_id]) & roots)


def roles_of(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Role.values)
    return set(_memberships(user).values_list("role", flat=True))
