"""The integrity programme's rules, each defined once (database and Python side by side where both are
needed; tests/tracker/integrity/test_rules.py holds each pair equal).

- a high risk point needs a process map: at least 2 steps, at least 1 of them a control step;
- which register a moment belongs to: the year of that moment in TIME_ZONE;
- which items apply to a school: its own, and those of every authority above it;
- a checklist is open until its last check is recorded, and overdue when still open past its due time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.errors import ProcessMapRequired, ValidationFailed

from .models import RiskLevel

PROCESS_MAP_MIN_STEPS = 2
PROCESS_MAP_MIN_CONTROLS = 1


# --- Risk points -----------------------------------------------------------------------------------------
def process_map_complete(process_map: Iterable[Mapping[str, Any]]) -> bool:
    steps = list(process_map)
    return len(steps) >= PROCESS_MAP_MIN_STEPS and sum(1 for s in steps if s.get("control")) >= PROCESS_MAP_MIN_CONTROLS


def has_process_map_q(prefix: str = "") -> Q:
    """A risk point with a process map (any steps at all); the database twin of `bool(process_map)`."""
    return ~Q(**{f"{prefix}process_map": []})


def risk_point_check(*, level: str, measures: list[str], process_map: list[dict[str, Any]]) -> None:
    """The rules of a risk point as a whole (shapes are the API's to check): 400 when one is broken."""
    if not [m for m in measures if str(m).strip()]:
        raise ValidationFailed(_("Write at least one prevention measure."), field="measures")
    for index, step in enumerate(process_map, start=1):
        if not str(step.get("step", "")).strip() or not str(step.get("role", "")).strip():
            raise ValidationFailed(
                _("Step %(n)s of the process map needs what is done and who does it.") % {"n": index},
                field="process_map",
            )
    if level == RiskLevel.HIGH and not process_map_complete(process_map):
        refusal = _(
            "A high risk point needs a process map of at least %(steps)s steps, at least %(controls)s of them a "
            "control step."
        ) % {"steps": PROCESS_MAP_MIN_STEPS, "controls": PROCESS_MAP_MIN_CONTROLS}
        raise ProcessMapRequired(refusal, errors={"process_map": [refusal]})


# --- Registers -------------------------------------------------------------------------------------------
def register_year(moment: datetime) -> int:
    """The register a moment belongs to: its year in TIME_ZONE."""
    return timezone.localtime(moment).year


# --- Checklists ------------------------------------------------------------------------------------------
def checklist_open_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}completed_at__isnull": True})


def checklist_overdue_q(now: datetime, prefix: str = "") -> Q:
    return checklist_open_q(prefix) & Q(**{f"{prefix}due_at__lt": now})


def checklist_is_overdue(*, completed_at: datetime | None, due_at: datetime, now: datetime) -> bool:
    return completed_at is None and due_at < now
