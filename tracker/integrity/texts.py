"""What a person reads for the integrity programme's codes, in their language (tracker/locale): the
pages and the exports say these; the data and the API carry the codes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy, pgettext_lazy

from .models import CampaignStatus, CheckResult, ListKind, Post, RegisterStatus, RiskLevel

LIST_LABELS = {
    ListKind.MICRO_POWER: gettext_lazy("Small and micro powers"),
    ListKind.NEGATIVE: gettext_lazy("Negative list for running schools"),
}

POST_LABELS = {
    Post.LEADER: gettext_lazy("School leader"),
    Post.MIDDLE_MANAGER: gettext_lazy("Middle manager"),
    Post.CLASS_TEACHER: gettext_lazy("Class teacher"),
    Post.SUBJECT_TEACHER: gettext_lazy("Subject teacher"),
    Post.OTHER: pgettext_lazy("post", "Other"),
}

LEVEL_LABELS = {
    RiskLevel.LOW: pgettext_lazy("risk level", "Low"),
    RiskLevel.MEDIUM: pgettext_lazy("risk level", "Medium"),
    RiskLevel.HIGH: pgettext_lazy("risk level", "High"),
}

REGISTER_STATUS_LABELS = {
    RegisterStatus.DRAFT: pgettext_lazy("register status", "Draft"),
    RegisterStatus.SUBMITTED: pgettext_lazy("register status", "Submitted"),
    RegisterStatus.RETURNED: pgettext_lazy("register status", "Returned"),
    RegisterStatus.APPROVED: pgettext_lazy("register status", "Approved"),
}

CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.DRAFT: pgettext_lazy("campaign status", "Draft"),
    CampaignStatus.ACTIVE: pgettext_lazy("campaign status", "Active"),
    CampaignStatus.CLOSED: pgettext_lazy("campaign status", "Closed"),
}

# What a register's review does, as its refusals say it ("it cannot be submitted now").
ACTION_LABELS = {
    "submit": pgettext_lazy("register action", "submitted"),
    "approve": pgettext_lazy("register action", "approved"),
    "return": pgettext_lazy("register action", "returned"),
}

CHECK_RESULT_LABELS = {
    CheckResult.OK: pgettext_lazy("check result", "No problem"),
    CheckResult.FINDING: pgettext_lazy("check result", "Finding"),
}


def said(labels: dict, code: str | None) -> str:
    """The label of `code` in the active language, or the code itself for one the table does not know."""
    if code is None:
        return ""
    return str(labels.get(code, code))
