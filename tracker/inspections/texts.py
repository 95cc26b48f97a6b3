"""Words of this context in the reader's language: labels of kinds, types and statuses, and the title
and body of a notice (composed at read time from the notice's redacted fields)."""

from __future__ import annotations

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import CaseStatus, CaseType, InspectionKind, Notice, TargetKind

CASE_TYPE_LABELS: dict[str, Promise] = {
    CaseType.PAID_TUTORING: pgettext_lazy("case type", "paid tutoring by a serving teacher"),
    CaseType.BANQUET: pgettext_lazy("case type", "a promotion or thank-the-teacher banquet"),
    CaseType.SECOND_JOB: pgettext_lazy("case type", "an unauthorised second job"),
    CaseType.PRIVATE_GAIN: pgettext_lazy("case type", "using teaching for private gain"),
    CaseType.OTHER: pgettext_lazy("case type", "another violation"),
}

CASE_STATUS_LABELS: dict[str, Promise] = {
    CaseStatus.REPORTED: pgettext_lazy("case status", "reported"),
    CaseStatus.INVESTIGATING: pgettext_lazy("case status", "investigating"),
    CaseStatus.CONCLUDED: pgettext_lazy("case status", "concluded"),
}

INSPECTION_KIND_LABELS: dict[str, Promise] = {
    InspectionKind.ANNOUNCED: pgettext_lazy("inspection kind", "announced"),
    InspectionKind.UNANNOUNCED: pgettext_lazy("inspection kind", "unannounced"),
}

TARGET_KIND_LABELS: dict[str, Promise] = {
    TargetKind.SCHOOL: pgettext_lazy("target kind", "school"),
    TargetKind.NEIGHBOURHOOD: pgettext_lazy("target kind", "neighbourhood"),
    TargetKind.TUTORING_CENTRE: pgettext_lazy("target kind", "tutoring centre"),
    TargetKind.OTHER: pgettext_lazy("target kind", "other"),
}

NOTICE_TITLE = _("Notice on a case of %(type)s (%(date)s)")
NOTICE_LINES = (
    ("type", _("Type: %(value)s")),
    ("date", _("Date: %(value)s")),
    ("persons", _("Persons: %(value)s")),
    ("summary", _("What happened: %(value)s")),
    ("disposition", _("Disposition: %(value)s")),
)
# Between redacted names in a list ("张某、李某"; "Zhang某, Li某").
NAME_SEPARATOR = _(", ")


def notice_title(notice: Notice) -> str:
    """The notice's title in the active language."""
    return str(NOTICE_TITLE) % {"type": CASE_TYPE_LABELS[notice.type], "date": notice.occurred_on.isoformat()}


def notice_body(notice: Notice) -> str:
    """The notice's body in the active language: type, date, persons (redacted), summary, disposition."""
    values = {
        "type": str(CASE_TYPE_LABELS[notice.type]),
        "date": notice.occurred_on.isoformat(),
        "persons": str(NAME_SEPARATOR).join(notice.persons),
        "summary": notice.summary,
        "disposition": notice.disposition,
    }
    return "\n".join(str(line) % {"value": values[key]} for key, line in NOTICE_LINES if values[key])


def notice_texts(notice: Notice, language: str) -> tuple[str, str]:
    """(title, body) of the notice in `language`."""
    with translation.override(language):
        return notice_title(notice), notice_body(notice)
