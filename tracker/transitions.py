"""The one table of allowed task transitions (CONTRACT section 2)."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Role, TaskStatus

S = TaskStatus


@dataclass(frozen=True)
class Transition:
    role: str
    sources: frozenset[str]
    target: str | None  # None: the status does not change (extend)


TRANSITIONS: dict[str, Transition] = {
    "start": Transition(Role.SCHOOL, frozenset({S.NOT_STARTED, S.RETURNED}), S.IN_PROGRESS),
    "progress": Transition(Role.SCHOOL, frozenset({S.NOT_STARTED, S.IN_PROGRESS, S.RETURNED}), S.IN_PROGRESS),
    "submit": Transition(Role.SCHOOL, frozenset({S.NOT_STARTED, S.IN_PROGRESS, S.RETURNED}), S.SUBMITTED),
    "approve": Transition(Role.SUPERVISOR, frozenset({S.SUBMITTED}), S.APPROVED),
    "return": Transition(Role.SUPERVISOR, frozenset({S.SUBMITTED}), S.RETURNED),
    "extend": Transition(Role.SUPERVISOR, frozenset({S.NOT_STARTED, S.IN_PROGRESS, S.SUBMITTED, S.RETURNED}), None),
}


def allowed_actions(status: str) -> list[str]:
    """The actions the table allows from `status`, in table order."""
    return [action for action, t in TRANSITIONS.items() if status in t.sources]


def can(action: str, status: str) -> bool:
    return status in TRANSITIONS[action].sources
