"""Domain refusals as messages on the page, in the reader's language, with the API's status code.

The services raise tracker.errors.DomainError subclasses (409 wrong state, 413 too large, 415 wrong
type, 400 invalid); a page shows what went wrong in words and answers with the same status the API
would, so a refused form is never a 200 and never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tracker.errors import (
    DomainError,
    EvidenceRequired,
    FileTooLarge,
    InvalidState,
    InvalidTransition,
    UnsupportedFileType,
    ValidationFailed,
)

from .labels import ACTION, STATUS, label


@dataclass(frozen=True)
class Refusal:
    message: str
    status: int


def _allowed(actions: list[str]) -> str:
    return _(", ").join(label(ACTION, action) for action in actions) or _("nothing")


def refusal(exc: DomainError, *, action: str = "") -> Refusal:
    """What to tell the person, and the status code, for a refused write."""
    extra = exc.extra
    if isinstance(exc, InvalidTransition):
        message = _("The task's status is %(status)s: you cannot %(action)s now (possible now: %(allowed)s).") % {
            "status": label(STATUS, str(extra.get("status", ""))),
            "action": label(ACTION, action),
            "allowed": _allowed(list(extra.get("allowed", []))),
        }
    elif isinstance(exc, EvidenceRequired):
        message = _("Upload at least %(required)s evidence file(s) before submitting; this task has %(have)s.") % {
            "required": extra.get("required"),
            "have": extra.get("have"),
        }
    elif isinstance(exc, FileTooLarge):
        message = _("The file is too large: the limit is %(limit)s.") % {
            "limit": filesizeformat(settings.EVIDENCE_MAX_BYTES)
        }
    elif isinstance(exc, UnsupportedFileType):
        message = _("This type of file is not accepted. Upload one of: %(types)s.") % {
            "types": ", ".join(kind.upper() for kind in settings.EVIDENCE_ALLOWED_TYPES)
        }
    elif isinstance(exc, InvalidState):
        message = _state_message(exc, action)
    elif isinstance(exc, ValidationFailed):
        message = _FIELD_MESSAGES.get(str(extra.get("field", "")), _("The form has an invalid value."))
        message = str(message)
    else:
        message = _("The request was refused.")
    return Refusal(message=message, status=exc.http_status)


def _state_message(exc: InvalidState, action: str) -> str:
    if action in ("upload", "delete_evidence"):
        return _("Evidence can be changed only before the task is submitted (its status is %(status)s).") % {
            "status": label(STATUS, str(exc.extra.get("status", "")))
        }
    if action == "respond":
        return _("This urge has already been answered.")
    if action == "urge":
        return _("Only the schools of an active cycle can be urged.")
    return _("This cannot be done in the current state.")


# ValidationFailed names the field; the forms check the same things first, so these are rare.
_FIELD_MESSAGES = {
    "progress": gettext_lazy("Progress must be between 0 and 100."),
    "deductions": gettext_lazy("Choose deductions from this criterion's rules."),
    "reason": gettext_lazy("Give a reason."),
    "message": gettext_lazy("Write a message."),
    "response": gettext_lazy("Write an answer."),
    "respond_by": gettext_lazy("The answer deadline must be in the future."),
    "school": gettext_lazy("Choose a school under this cycle's authority."),
}
