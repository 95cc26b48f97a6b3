"""The monitoring rules, each defined once for the database and for Python side by side (tests hold
each pair equal on the same rows): an urge's answer overdue, the reminder stages of a task, and a
task at risk of missing its deadline (early warning).

Due-soon *stages* (settings.TRACKER["DUE_SOON_DAYS"], 7 and 1 days before the due time) are the
reminders'; the dashboards' "next 14 days" list is another rule with another name
(tracker.assessment.rules.upcoming_q).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Case, DateTimeField, F, Func, IntegerField, Q, Value, When
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Mod

from tracker.assessment.models import Cycle, CycleStatus, Task
from tracker.assessment.rules import DaysOverdue, days_overdue, is_open, open_q
from tracker.integrity.models import Campaign, CampaignStatus


# --- Live: in a round the sweep watches, an active cycle or an active integrity campaign ---------------------
# Tasks, flags and urges each belong to a cycle or a campaign (rectification tasks, and the flags and urges
# about them, to a campaign). Everything that asks "is this still chased?" asks it here.
def in_active_campaign_q(prefix: str = "") -> Q:
    """Of an active campaign (an integrity checklist is live when this holds)."""
    return Q(**{f"{prefix}campaign_id__in": Campaign.objects.filter(status=CampaignStatus.ACTIVE).values("id")})


def live_q(prefix: str = "") -> Q:
    active_cycles = Cycle.objects.filter(status=CycleStatus.ACTIVE).values("id")
    return Q(**{f"{prefix}cycle_id__in": active_cycles}) | in_active_campaign_q(prefix)


def is_live(*, cycle_status: str | None, campaign_status: str | None) -> bool:
    return cycle_status == CycleStatus.ACTIVE or campaign_status == CampaignStatus.ACTIVE


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


# --- Early warning: an open task, due soon, behind its expected progress or stagnant -------------------------
@dataclass(frozen=True)
class EarlyWarning:
    days: int  # judge open tasks due within this many days (and not yet due)
    margin: int  # at risk when progress + margin < expected progress (percentage points)
    stagnation_days: int  # ... or when nothing has happened to the task for this long

    @classmethod
    def from_settings(cls) -> EarlyWarning:
        rules = settings.TRACKER
        return cls(
            days=int(rules["EARLY_WARNING_DAYS"]),
            margin=int(rules["AT_RISK_MARGIN"]),
            stagnation_days=int(rules["STAGNATION_DAYS"]),
        )


class BehindCurve(Func):
    """progress + margin < 100 * (now - due_set_at) / (due_at - due_set_at), in SQL.

    Multiplied out, so there is no division (a deadline set at its own moment has an empty window and is
    never behind) and the comparison is exact: epoch differences in microseconds on PostgreSQL.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, now: datetime, margin: int, prefix: str = "") -> None:
        super().__init__(
            F(f"{prefix}progress"),
            F(f"{prefix}due_at"),
            F(f"{prefix}due_set_at"),
            Value(now, output_field=DateTimeField()),
            Value(margin, output_field=IntegerField()),
        )

    def _compare(self, compiler: Any, seconds_between: Any) -> tuple[str, list[Any]]:
        """(progress + margin) * seconds(anchor -> due) < 100 * seconds(anchor -> now), parameters in order."""
        progress, due, anchor, now, margin = (compiler.compile(e) for e in self.source_expressions)
        window = seconds_between(due[0], anchor[0])
        elapsed = seconds_between(now[0], anchor[0])
        sql = f"(({progress[0]} + {margin[0]}) * {window} < 100 * {elapsed})"
        # Placeholders in the order they appear: progress, margin, due, anchor, now, anchor.
        params = [*progress[1], *margin[1], *due[1], *anchor[1], *now[1], *anchor[1]]
        return sql, params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self._compare(
            compiler, lambda later, earlier: f"EXTRACT(EPOCH FROM (CAST({later} AS TIMESTAMPTZ) - {earlier}))"
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        def seconds(value: str) -> str:
            return f"CAST(strftime('%%s', {value}) AS INTEGER)"

        return self._compare(compiler, lambda later, earlier: f"({seconds(later)} - {seconds(earlier)})")


def _micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def at_risk_window_q(now: datetime, warning: EarlyWarning, prefix: str = "") -> Q:
    """Open, not yet due, and due within the early-warning horizon."""
    return open_q(prefix) & Q(
        **{f"{prefix}due_at__gte": now, f"{prefix}due_at__lte": now + timedelta(days=warning.days)}
    )


def at_risk_q(now: datetime, warning: EarlyWarning | None = None, prefix: str = "") -> Q:
    """At risk: in the window, and behind the expected progress curve or stagnant."""
    warning = warning or EarlyWarning.from_settings()
    quiet_since = now - timedelta(days=warning.stagnation_days)
    stagnant = Q(**{f"{prefix}due_set_at__lte": quiet_since}) & (
        Q(**{f"{prefix}last_activity_at__isnull": True}) | Q(**{f"{prefix}last_activity_at__lte": quiet_since})
    )
    # Behind: only once the deadline's window has begun (a back-dated sweep may see it set in the future).
    behind = Q(**{f"{prefix}due_set_at__lt": now}) & Q(BehindCurve(now, warning.margin, prefix))
    return at_risk_window_q(now, warning, prefix) & (behind | stagnant)


def is_at_risk(
    *,
    status: str,
    due_at: datetime,
    progress: int,
    due_set_at: datetime,
    last_activity_at: datetime | None,
    now: datetime,
    warning: EarlyWarning | None = None,
) -> bool:
    """at_risk_q in Python."""
    warning = warning or EarlyWarning.from_settings()
    if not (is_open(status) and now <= due_at <= now + timedelta(days=warning.days)):
        return False
    behind = due_set_at < now and (
        (progress + warning.margin) * _micros(due_at - due_set_at) < 100 * _micros(now - due_set_at)
    )
    quiet_since = now - timedelta(days=warning.stagnation_days)
    stagnant = due_set_at <= quiet_since and (last_activity_at is None or last_activity_at <= quiet_since)
    return behind or stagnant


def task_is_at_risk(task: Task, now: datetime, warning: EarlyWarning | None = None) -> bool:
    return is_at_risk(
        status=task.status,
        due_at=task.due_at,
        progress=task.progress,
        due_set_at=task.due_set_at,
        last_activity_at=task.last_activity_at,
        now=now,
        warning=warning,
    )
