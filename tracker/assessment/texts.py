"""What a person reads for a task's status and the actions on it, in their language (tracker/locale).

The API's refusals and the web pages say these; the codes (`in_progress`, `start`) stay what the data
and the API's `status` and `allowed` fields carry.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import TaskStatus
from .transitions import TaskAction

STATUS_LABELS = {
    TaskStatus.NOT_STARTED: gettext_lazy("Not started"),
    TaskStatus.IN_PROGRESS: gettext_lazy("In progress"),
    TaskStatus.SUBMITTED: gettext_lazy("Submitted"),
    TaskStatus.RETURNED: gettext_lazy("Returned"),
    TaskStatus.APPROVED: gettext_lazy("Approved"),
}

ACTION_LABELS = {
    TaskAction.START: gettext_lazy("start"),
    TaskAction.PROGRESS: gettext_lazy("report progress"),
    TaskAction.SUBMIT: gettext_lazy("submit"),
    TaskAction.APPROVE: gettext_lazy("approve"),
    TaskAction.RETURN: gettext_lazy("return"),
    TaskAction.EXTEND: gettext_lazy("extend the deadline"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def actions_said(actions: list[str]) -> str:
    """A list of actions as a sentence says it ("start, submit"), or "nothing"."""
    return _(", ").join(action_label(action) for action in actions) or _("nothing")


def moment_said(value: datetime) -> str:
    """A time as a message says it: local wall-clock time to the minute."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
