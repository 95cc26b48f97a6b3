"""The monitoring rules, each defined once for the database and for Python side by side (tests hold
each pair equal on the same rows): an urge's answer overdue, and the reminder stages of a task.

Due-soon *stages* (settings.TRACKER["DUE_SOON_DAYS"], 7 and 1 days before the due time) are the
reminders'; the dashboards' "next 14 days" list is another rule with another name
(tracker.assessment.rules.upcoming_q).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Mod

from tracker.assessment.rules import DaysOverdue, days_overdue


# --- An urge's answer is overdue: not answered, and its respond_by has passed ------------------------------
def urge_overdue_q(now: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}responded_at__isnull": True, f"{prefix}respond_by__lt": now})


def urge_is_overdue(*, responded_at: datetime | None, respond_by: datetime, now: datetime) -> bool:
    return responded_at is None and respond_by < now


# --- Reminder stages of a task ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Stages:
    due_soon_days: tuple[int, ...]  # ascending: (1, 7)
    overdue_every_days: int
    escalation_days: int

    @classmethod
    def from_settings(cls) -> Stages:
        rules = settings.TRACKER
        return cls(
            due_soon_days=tuple(sorted({int(d) for d in rules["DUE_SOON_DAYS"] if int(d) > 0})),
            overdue_every_days=max(1, int(rules["OVERDUE_EVERY_DAYS"])),
            escalation_days=int(rules["ESCALATION_DAYS"]),
        )


def due_soon_window_q(now: datetime, stages: Stages) -> Q:
    """Due between now and the earliest due-soon stage's horizon (now + the largest offset)."""
    return Q(due_at__gte=now, due_at__lte=now + timedelta(days=max(stages.due_soon_days)))


def due_soon_stage_expression(now: datetime, stages: Stages) -> Case:
    """-d for the smallest offset d with due_at <= now + d (within the window), else NULL."""
    return Case(
        *(When(Q(due_at__gte=now, due_at__lte=now + timedelta(days=d)), then=Value(-d)) for d in stages.due_soon_days),
        default=Value(None),
        output_field=IntegerField(),
    )


def due_soon_stage(now: datetime, due_at: datetime, stages: Stages) -> int | None:
    """due_soon_stage_expression in Python."""
    for d in stages.due_soon_days:
        if now <= due_at <= now + timedelta(days=d):
            return -d
    return None


def overdue_stage_expression(now: datetime, stages: Stages) -> CombinedExpression:
    """The latest overdue stage a task has reached: its days overdue rounded down to a multiple of the
    interval (0, 3, 6, ...)."""
    days = DaysOverdue(now)
    return days - Mod(days, Value(stages.overdue_every_days), output_field=IntegerField())


def overdue_stage(now: datetime, due_at: datetime, stages: Stages) -> int:
    """overdue_stage_expression in Python."""
    days = days_overdue(now, due_at)
    return days - days % stages.overdue_every_days


def escalation_q(now: datetime, stages: Stages) -> Q:
    """Due at least `escalation_days` whole days ago."""
    return Q(due_at__lte=now - timedelta(days=stages.escalation_days))
