"""Who hears about a reminder: the school's accounts, the supervisors (and, for what they oversee, the
inspectors) of its nearest authority, and the webhooks of both, looked up once per sweep and cached."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tracker.notify.models import NotificationKind, Webhook
from tracker.org.models import Role
from tracker.org.selectors import unit_members
from tracker.org.tree import nearest_authorities

K = NotificationKind
SCHOOL_KINDS = {K.DUE_SOON, K.OVERDUE, K.AT_RISK, K.FLAG_OPENED, K.FLAG_CRITICAL, K.URGE_OVERDUE}
AUTHORITY_KINDS = {K.ESCALATION, K.FLAG_OPENED, K.FLAG_CRITICAL, K.URGE_UNANSWERED}
# What the discipline group oversees: schools critically behind, urges left unanswered.
INSPECTOR_KINDS = {K.FLAG_CRITICAL, K.URGE_UNANSWERED}


@dataclass(frozen=True)
class Recipient:
    user_id: int
    language: str


class Audience:
    """School accounts and supervisors of units, and each school's nearest authority, cached per sweep."""

    def __init__(self) -> None:
        self._authorities: dict[int, int | None] = {}
        self._members: dict[tuple[int, str], list[Recipient]] = {}
        self._webhooks: dict[int, list[int]] | None = None

    def authority_of(self, school_id: int) -> int | None:
        self._load_authorities([school_id])
        return self._authorities[school_id]

    def _load_authorities(self, unit_ids: Iterable[int]) -> None:
        missing = {u for u in unit_ids if u not in self._authorities}
        if missing:
            self._authorities.update(nearest_authorities(missing))

    def prime(self, school_ids: Iterable[int]) -> None:
        """Load, in a few queries, what members() and authority_of() will ask about these schools."""
        school_ids = set(school_ids)
        self._load_authorities(school_ids)
        authorities = {a for a in (self.authority_of(s) for s in school_ids) if a is not None}
        self._load_members(school_ids, Role.SCHOOL)
        self._load_members(authorities, Role.SUPERVISOR)
        self._load_members(authorities, Role.INSPECTOR)

    def _load_members(self, unit_ids: Iterable[int], role: str) -> None:
        missing = {u for u in unit_ids if (u, role) not in self._members}
        if not missing:
            return
        for unit_id, members in unit_members(missing, role).items():
            self._members[(unit_id, role)] = [Recipient(user_id, language) for user_id, language in members]

    def members(self, unit_id: int | None, role: str) -> list[Recipient]:
        if unit_id is None:
            return []
        self._load_members([unit_id], role)
        return self._members[(unit_id, role)]

    def for_kind(self, kind: str, school_id: int) -> list[Recipient]:
        found: dict[int, Recipient] = {}
        if kind in SCHOOL_KINDS:
            for r in self.members(school_id, Role.SCHOOL):
                found.setdefault(r.user_id, r)
        if kind in AUTHORITY_KINDS:
            for r in self.members(self.authority_of(school_id), Role.SUPERVISOR):
                found.setdefault(r.user_id, r)
        if kind in INSPECTOR_KINDS:
            for r in self.members(self.authority_of(school_id), Role.INSPECTOR):
                found.setdefault(r.user_id, r)
        return list(found.values())

    def units_for_kind(self, kind: str, school_id: int) -> list[int]:
        units = []
        if kind in SCHOOL_KINDS:
            units.append(school_id)
        if kind in AUTHORITY_KINDS:
            authority = self.authority_of(school_id)
            if authority is not None:
                units.append(authority)
        return units

    def webhooks(self, unit_id: int) -> list[int]:
        if self._webhooks is None:
            self._webhooks = {}
            for webhook_id, owner in Webhook.objects.filter(active=True).values_list("id", "unit_id"):
                self._webhooks.setdefault(owner, []).append(webhook_id)
        return self._webhooks.get(unit_id, [])
