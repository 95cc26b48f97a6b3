"""Reads of the org context."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Membership, Role


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
