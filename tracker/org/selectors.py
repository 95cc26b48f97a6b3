"""Reads of the org context."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Membership, Role
from .tree import ancestor_ids, nearest_authorities


def unit_members(unit_ids: Iterable[int], role: str) -> dict[int, list[tuple[int, str]]]:
    """For each unit, (user id, language) of the active users holding `role` there, by user id.

    A user holds a role at a unit once (Membership's unique key), so nobody is listed twice.
    """
    found: dict[int, list[tuple[int, str]]] = {unit_id: [] for unit_id in unit_ids}
    rows = (
        Membership.objects.filter(unit_id__in=list(found), role=role, user__is_active=True)
        .order_by("user_id")
        .values_list("unit_id", "user_id", "language")
    )
    for unit_id, user_id, language in rows:
        found[unit_id].append((user_id, language))
    return found


def school_members(school_id: int) -> list[tuple[int, str]]:
    """(user id, language) of each active school account of one school."""
    return unit_members([school_id], Role.SCHOOL)[school_id]


def authority_supervisors(school_id: int) -> list[tuple[int, str]]:
    """(user id, language) of each active supervisor of the school's nearest authority."""
    authority = nearest_authorities([school_id])[school_id]
    return unit_members([authority], Role.SUPERVISOR)[authority] if authority is not None else []


def supervisors_over(unit_id: int) -> QuerySet:
    """The ids of the active users who supervise the unit: supervisors at it or at any unit above it."""
    return (
        Membership.objects.filter(unit_id__in=ancestor_ids([unit_id]), role=Role.SUPERVISOR, user__is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )


def account_language(user_id: int) -> str:
    """The language a person chose for e-mails and notifications ("" when none): their memberships carry it."""
    return (
        Membership.objects.filter(user_id=user_id).exclude(language="").values_list("language", flat=True).first() or ""
    )


def roles_over(user, unit_id: int) -> set[str]:
    """The roles `user` holds over a unit: the school role at that very unit, an authority role at it or
    above it; every role for a superuser (the rule of tracker.scope.has_role_over, for one unit at once)."""
    if user is None or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Role.values)
    above = ancestor_ids([unit_id])
    return {
        role
        for role, unit in Membership.objects.filter(user=user).values_list("role", "unit_id")
        if (unit == unit_id if role == Role.SCHOOL else unit in above)
    }
