"""Reads of the org context."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from .models import Membership, Role
from .tree import ancestor_ids


def school_accounts(school_id: int) -> QuerySet:
    """The active users holding the school role at one school."""
    return (
        get_user_model()
        .objects.filter(memberships__unit_id=school_id, memberships__role=Role.SCHOOL, is_active=True)
        .distinct()
    )


def school_members(school_id: int) -> list[tuple[int, str]]:
    """(user id, language) of each active school account of one school, once per user."""
    members: dict[int, str] = {}
    for user_id, language in (
        Membership.objects.filter(unit_id=school_id, role=Role.SCHOOL, user__is_active=True)
        .order_by("id")
        .values_list("user_id", "language")
    ):
        members.setdefault(user_id, language)
    return list(members.items())


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
