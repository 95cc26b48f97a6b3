"""Domain refusals as messages on the page, with the API's status code.

The services raise tracker.errors.DomainError subclasses (409 wrong state, 413 too large, 415 wrong
type, 400 invalid) worded in the active language (tracker/locale); a page shows that wording and
answers with the status the API would, so a refused form is never a 200 and never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.errors import DomainError


@dataclass(frozen=True)
class Refusal:
    message: str
    status: int


def refusal(exc: DomainError) -> Refusal:
    """What to tell the person, and the status code, for a refused write."""
    return Refusal(message=str(exc.detail), status=exc.http_status)
