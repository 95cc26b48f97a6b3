"""What a person reads for a task's status and the actions on it, in their language (tracker/locale).

The API's refusals and the web pages say these; the codes (`in_progress`, `start`) stay what the data
and the API's `status` and `allowed` fields carry.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from .fairness_models import AppealStatus, ExtensionStatus
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


REQUEST_STATUS_LABELS = {
    ExtensionStatus.PENDING: pgettext_lazy("request status", "Pending"),
    ExtensionStatus.APPROVED: pgettext_lazy("request status", "Approved"),
    ExtensionStatus.REJECTED: pgettext_lazy("request status", "Rejected"),
    AppealStatus.UPHELD: pgettext_lazy("request status", "Upheld"),
    AppealStatus.AMENDED: pgettext_lazy("request status", "Amended"),
}


def request_status_label(status: str) -> str:
    """An extension request's or an appeal's status as a person reads it."""
    return str(REQUEST_STATUS_LABELS.get(status, status))
