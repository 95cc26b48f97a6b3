"""Checks shared by the writes of rounds and cases."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

from tracker.errors import ValidationFailed
from tracker.org.models import Unit, UnitKind
from tracker.org.tree import descendant_ids


def authority_check(authority: Unit) -> None:
    if authority.kind != UnitKind.AUTHORITY:
        raise ValidationFailed("must be an authority (education bureau, discipline group)", field="authority")


def school_under(authority_id: int, school: Unit | None, field: str) -> None:
    """`school` (if any) is a school under the authority."""
    if school is None:
        return
    if school.kind != UnitKind.SCHOOL:
        raise ValidationFailed("must be a school", field=field)
    if school.pk not in descendant_ids([authority_id], include_self=False):
        raise ValidationFailed("the school is not under the authority", field=field)


def not_in_future(day: date, field: str, now: datetime) -> None:
    if day > timezone.localdate(now):
        raise ValidationFailed(f"{field} cannot be in the future", field=field)


def actor_or_none(actor):
    """The user to store as author: None for the system (the demo seed, a command)."""
    return actor if getattr(actor, "is_authenticated", False) else None
