"""The one table of allowed task transitions (CONTRACT section 2): the law of the task workflow.

Services take the target status from it, the API takes the role that may act from it, and a refused
transition's `allowed` list comes from it. Nothing else says which role does what to a task.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from tracker.org.models import Role

from .models import TaskStatus
from .rules import OPEN_STATUSES

S = TaskStatus


class TaskAction(StrEnum):
    START = "start"
    PROGRESS = "progress"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    EXTEND = "extend"


@dataclass(frozen=True)
class Transition:
    role: str
    sources: frozenset[str]
    target: str | None  # None: the status does not change (extend)


TRANSITIONS: dict[str, Transition] = {
    TaskAction.START: Transition(Role.SCHOOL, frozenset({S.NOT_STARTED, S.RETURNED}), S.IN_PROGRESS),
    TaskAction.PROGRESS: Transition(Role.SCHOOL, frozenset({S.NOT_STARTED, S.IN_PROGRESS, S.RETURNED}), S.IN_PROGRESS),
    TaskAction.SUBMIT: Transition(Role.SCHOOL, frozenset({S.NOT_STARTED, S.IN_PROGRESS, S.RETURNED}), S.SUBMITTED),
    TaskAction.APPROVE: Transition(Role.SUPERVISOR, frozenset({S.SUBMITTED}), S.APPROVED),
    TaskAction.RETURN: Transition(Role.SUPERVISOR, frozenset({S.SUBMITTED}), S.RETURNED),
    TaskAction.EXTEND: Transition(
        Role.SUPERVISOR, frozenset({S.NOT_STARTED, S.IN_PROGRESS, S.SUBMITTED, S.RETURNED}), None
    ),
}


def allowed_actions(
    status: str, *, roles: Collection[str] | None = None, table: dict[str, Transition] | None = None
) -> list[str]:
    """The actions the table (the task table unless another is given) allows from `status`, in table
    order; with `roles`, only those one of these roles may take (what a caller holding them may do now)."""
    return [
        str(action)
        for action, t in (TRANSITIONS if table is None else table).items()
        if status in t.sources and (roles is None or t.role in roles)
    ]


# --- A school's requests about a task (CONTRACT section 7): who may ask, from which task statuses --------
# They leave the task's status as it is; a supervisor decides each (DECIDING_ROLE), once.
class TaskRequest(StrEnum):
    EXTENSION = "request_extension"
    APPEAL = "appeal"


REQUESTS: dict[str, Transition] = {
    TaskRequest.EXTENSION: Transition(Role.SCHOOL, frozenset(OPEN_STATUSES), None),
    TaskRequest.APPEAL: Transition(Role.SCHOOL, frozenset({S.APPROVED}), None),
}
DECIDING_ROLE = Role.SUPERVISOR
