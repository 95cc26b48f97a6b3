"""Reads of the org context."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from .models import Membership, Role
from .tree import ancestor_ids, nearest_authorities


def school_accounts(school_id: int) -> QuerySet:
    """The active users holding the school role at one school."""
    return (
        get_user_model()
        .objects.filter(memberships__unit_id=school_id, memberships__role=Role.SCHOOL, is_active=True)
        .distinct()
    )


def _members(unit_id: int | None, role: str) -> list[tuple[int, str]]:
    """(user id, language) of each active holder of `role` at one unit, once per user."""
    members: dict[int, str] = {}
    for user_id, language in (
        Membership.objects.filter(unit_id=unit_id, role=role, user__is_active=True)
        .order_by("id")
        .values_list("user_id", "language")
    ):
        members.setdefault(user_id, language)
    return list(members.items())


def school_members(school_id: int) -> list[tuple[int, str]]:
    """(user id, language) of each active school account of one school, once per user."""
    return _members(school_id, Role.SCHOOL)


def authority_supervisors(school_id: int) -> list[tuple[int, str]]:
    """(user id, language) of each active supervisor of the school's nearest authority."""
    authority = nearest_authorities([school_id])[school_id]
    return _members(authority, Role.SUPERVISOR) if authority is not None else []


def supervisors_over(unit_id: int) -> QuerySet:
    """The ids of the active users who supervise the unit: supervisors at it or at any unit above it."""
    return (
        Membership.objects.filter(unit_id__in=ancestor_ids([unit_id]), role=Role.SUPERVISOR, user__is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )
