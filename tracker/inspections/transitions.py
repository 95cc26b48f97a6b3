"""The one table of allowed case status changes (CONTRACT section 9): reported -> investigating -> concluded."""

from __future__ import annotations

from .models import CaseStatus

S = CaseStatus

CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    S.REPORTED: frozenset({S.INVESTIGATING}),
    S.INVESTIGATING: frozenset({S.CONCLUDED}),
    S.CONCLUDED: frozenset(),
}


def next_statuses(status: str) -> list[str]:
    """The statuses a case may move to from `status`, in workflow order."""
    return [s for s in S.values if s in CASE_TRANSITIONS.get(status, frozenset())]
