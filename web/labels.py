"""What a person reads for the domain's codes (statuses, actions, event types, kinds), in their language.

The domain stores codes ("in_progress", "task.returned"); the pages show these labels. Chinese is the
wording people read first (web/locale/zh_Hans), English its translation (the msgids).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tracker.assessment.texts import REQUEST_STATUS_LABELS, STATUS_LABELS
from tracker.audit.types import EventType
from tracker.inspections.texts import (
    CASE_STATUS_LABELS,
    CASE_TYPE_LABELS,
    INSPECTION_KIND_LABELS,
    TARGET_KIND_LABELS,
)
from tracker.integrity.texts import (
    CAMPAIGN_STATUS_LABELS,
    CHECK_RESULT_LABELS,
    LEVEL_LABELS,
    LIST_LABELS,
    POST_LABELS,
    REGISTER_STATUS_LABELS,
)

STATUS = STATUS_LABELS  # the domain's, also used in its refusals
REQUEST_STATUS = REQUEST_STATUS_LABELS  # extension requests and appeals: the domain's too

LEDGER_ACTION = {
    "applied": pgettext_lazy("deduction ledger", "Applied"),
    "withdrawn": pgettext_lazy("deduction ledger", "Withdrawn"),
    "changed": pgettext_lazy("deduction ledger", "Changed"),
}
LEDGER_SOURCE = {
    "approval": pgettext_lazy("deduction ledger", "at approval"),
    "appeal": pgettext_lazy("deduction ledger", "by an appeal"),
}
# Inspections and cases: the domain's labels (tracker/locale), also used in its notices
INSPECTION_KIND = INSPECTION_KIND_LABELS
TARGET_KIND = TARGET_KIND_LABELS
CASE_TYPE = CASE_TYPE_LABELS
CASE_STATUS = CASE_STATUS_LABELS

SEVERITY = {
    "warning": pgettext_lazy("flag severity", "Warning"),
    "critical": pgettext_lazy("flag severity", "Critical"),
}

ROLE = {
    "supervisor": _("Supervisor"),
    "inspector": _("Inspector"),
    "school": _("School"),
}

CYCLE_STATUS = {
    "draft": pgettext_lazy("cycle status", "Draft"),
    "active": pgettext_lazy("cycle status", "Active"),
    "closed": pgettext_lazy("cycle status", "Closed"),
}

NOTIFICATION_KIND = {
    "due_soon": _("Due soon"),
    "overdue": _("Overdue"),
    "escalation": _("Escalation"),
    "flag_opened": _("Falling behind"),
    "flag_critical": _("Critically behind"),
    "urge": _("Urge"),
    "urge_overdue": _("Urge answer overdue"),
    "urge_answered": _("Urge answered"),
    "urge_unanswered": _("Urge left unanswered"),
    "returned": _("Returned"),
    "approved": _("Approved"),
    "notice_published": _("Case notice"),
    "at_risk": _("At risk"),
    "extension_requested": _("Extension requested"),
    "extension_approved": _("Extension approved"),
    "extension_rejected": _("Extension rejected"),
    "appeal_decided": _("Appeal decided"),
}

EVENT = {
    EventType.TASK_STARTED: _("Started the task"),
    EventType.TASK_PROGRESSED: _("Reported progress"),
    EventType.TASK_SUBMITTED: _("Submitted for review"),
    EventType.TASK_APPROVED: _("Approved"),
    EventType.TASK_RETURNED: _("Returned for rework"),
    EventType.TASK_EXTENDED: _("Extended the deadline"),
    EventType.TASK_DUE_MOVED: _("The criterion's deadline moved"),
    EventType.EVIDENCE_UPLOADED: _("Uploaded evidence"),
    EventType.EVIDENCE_DELETED: _("Deleted evidence"),
    EventType.EXTENSION_REQUESTED: _("Asked for an extension"),
    EventType.EXTENSION_DECIDED: _("Decided the extension request"),
    EventType.APPEAL_FILED: _("Appealed the score"),
    EventType.APPEAL_DECIDED: _("Decided the appeal"),
}


# --- Integrity programme (the domain's labels, also used by its exports) --------------------------------
LIST_KIND = LIST_LABELS
POST = POST_LABELS
LEVEL = LEVEL_LABELS
REGISTER_STATUS = REGISTER_STATUS_LABELS
CAMPAIGN_STATUS = CAMPAIGN_STATUS_LABELS
CHECK_RESULT = CHECK_RESULT_LABELS

EVENT.update(
    {
        EventType.RECTIFICATION_CREATED: _("Ordered the rectification"),
        EventType.CHECK_RECORDED: _("Recorded the self-inspection check"),
    }
)


def label(table: dict, code: str | None) -> str:
    """The label of `code`, or the code itself for one the table does not know (never an error)."""
    if code is None:
        return ""
    return str(table.get(code, code))
