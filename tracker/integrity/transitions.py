"""The one table of a register's review (CONTRACT section 8): the school submits, a supervisor approves
or returns with a reason, a returned register is edited and submitted again. The same `Transition`
shape as the task table; the services take the target status from it and the API the role."""

from __future__ import annotations

from enum import StrEnum

from tracker.assessment.transitions import Transition
from tracker.org.models import Role

from .models import RegisterStatus

R = RegisterStatus


class RegisterAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"


REGISTER_TRANSITIONS: dict[str, Transition] = {
    RegisterAction.SUBMIT: Transition(Role.SCHOOL, frozenset({R.DRAFT, R.RETURNED}), R.SUBMITTED),
    RegisterAction.APPROVE: Transition(Role.SUPERVISOR, frozenset({R.SUBMITTED}), R.APPROVED),
    RegisterAction.RETURN: Transition(Role.SUPERVISOR, frozenset({R.SUBMITTED}), R.RETURNED),
}

# The statuses in which the school may still write its risk points.
EDITABLE = frozenset({R.DRAFT, R.RETURNED})
