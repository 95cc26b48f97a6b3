"""Domain errors. The API's exception handler turns each into one response shape."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409


class EvidenceRequired(DomainError):
    code = "evidence_required"
    http_status = 409


class InvalidState(DomainError):
    """A write that does not fit the object's current state (e.g. activating a closed cycle)."""

    code = "invalid_state"
    http_status = 409


class ValidationFailed(DomainError):
    code = "invalid"
    http_status = 400


class FileTooLarge(DomainError):
    code = "file_too_large"
    http_status = 413


class UnsupportedFileType(DomainError):
    code = "unsupported_file_type"
    http_status = 415


# --- Integrity programme (CONTRACT section 8) -------------------------------------------------------------
class ProcessMapRequired(DomainError):
    """A high risk point without a process map of at least 2 steps and 1 control step."""

    code = "process_map_required"
    http_status = 400


class RegisterEmpty(DomainError):
    """A register submitted without a single risk point."""

    code = "register_empty"
    http_status = 409


class RegisterLocked(DomainError):
    """A risk point written while its register is submitted or approved (read-only until returned)."""

    code = "register_locked"
    http_status = 409


class CheckRecorded(DomainError):
    """A check whose result was already recorded: a result is recorded once."""

    code = "check_recorded"
    http_status = 409


class RequestPending(DomainError):
    """A task already has a pending extension request (or appeal): one at a time."""

    code = "request_pending"
    http_status = 409


class AppealWindowClosed(DomainError):
    code = "appeal_window_closed"
    http_status = 409


class SameReviewer(DomainError):
    """The supervisor who approved a task may not decide its appeal while another supervisor can."""

    code = "same_reviewer"
    http_status = 403


class EvidenceQuotaExceeded(DomainError):
    http_status = 409


class EvidenceLimit(EvidenceQuotaExceeded):
    """A task holds EVIDENCE_MAX_FILES_PER_TASK files: the next upload is refused (CONTRACT section 4)."""

    code = "evidence_limit"


class SchoolStorageFull(EvidenceQuotaExceeded):
    """A school's evidence would exceed EVIDENCE_MAX_BYTES_PER_SCHOOL."""

    code = "school_storage_full"


class AlreadyPublished(DomainError):
    """A case is published once; its notice exists."""

    code = "already_published"
    http_status = 409


class CasePublished(DomainError):
    """A published case is frozen: its notice must keep saying what the case says."""

    code = "case_published"
    http_status = 409
