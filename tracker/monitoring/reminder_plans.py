"""Reminder stages (CONTRACT section 2) and their exactly-once record.

For each task still owed by its school (and each integrity checklist still open, on its campaign's
deadline): `due_soon` at 7 and 1 days before due_at, `overdue` at days_overdue 0, 3, 6, ...,
`escalation` once 7 days overdue (offsets are settings), and, for tasks, `at_risk` once per due_at when
early warning judges it at risk (CONTRACT section 7; stage 0). Flags remind at `flag_opened` and
`flag_critical`; urges at `urge_overdue` (the school) and `urge_unanswered` (its authority) when their
answer is late.

Only the latest stage a task has reached is recorded, and only if neither it nor a later stage was
recorded for the same due_at: a sweep that first sees a task 10 days late sends one overdue
reminder (stage 9), not four. Each reminder is inserted with INSERT ... SELECT ... ON CONFLICT DO
NOTHING RETURNING under the Reminder table's unique constraints, in id-range batches of tasks; only
the rows this statement actually inserted go on to be delivered (tracker.monitoring.reminders).

The statement is written by hand, but every rule in it (open, overdue, days overdue, the due-soon
stages, at risk, an urge overdue) is compiled from its one definition (tracker.assessment.rules,
tracker.monitoring.rules) through tracker.sql.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q

from tracker.assessment.models import Task
from tracker.assessment.rules import open_q, overdue_q
from tracker.integrity.models import Checklist
from tracker.integrity.rules import checklist_open_q, checklist_overdue_q
from tracker.notify.models import NotificationKind
from tracker.sql import expression_sql, named, where_sql

from .models import Flag, Urge
from .rules import (
    EarlyWarning,
    Stages,
    at_risk_q,
    due_soon_stage_expression,
    due_soon_window_q,
    escalation_q,
    in_active_campaign_q,
    live_q,
    overdue_stage_expression,
    urge_overdue_q,
)
from .school_ranges import SchoolRange

K = NotificationKind


@dataclass(frozen=True)
class Planned:
    """One reminder this call inserted (and so must deliver)."""

    id: int
    kind: str
    stage: int
    task_id: int | None = None
    flag_id: int | None = None
    urge_id: int | None = None
    checklist_id: int | None = None


def _ts(value: datetime) -> Any:
    """A datetime parameter as the backend stores it (SQLite: naive UTC text, compared as text)."""
    return value if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(value)


class _Fragments:
    """Compiled rule fragments and their named parameters, gathered for one statement."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def add(self, compiled: tuple[str, list[Any]], prefix: str) -> str:
        sql, params = named(*compiled, prefix)
        self.params.update(params)
        return sql

    def where(self, model: type, q: Q, alias: str, prefix: str) -> str:
        return self.add(where_sql(model, q, alias=alias), prefix)


# Typed NULLs: in a UNION an untyped NULL would be text to PostgreSQL.
NULL_ID = "CAST(NULL AS BIGINT)"
NULL_TS = "CAST(NULL AS TIMESTAMP WITH TIME ZONE)"

_INSERT = """
INSERT INTO tracker_reminder (kind, task_id, flag_id, urge_id, checklist_id, stage, due_at, created_at)
SELECT s.kind, s.task_id, s.flag_id, s.urge_id, s.checklist_id, s.stage, s.due_at, %(now)s
FROM ({candidates}) s
WHERE s.stage IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM tracker_reminder r
    WHERE {same_key} AND r.kind = s.kind AND r.stage >= s.stage
)
ORDER BY s.task_id, s.flag_id, s.urge_id, s.checklist_id, s.kind
ON CONFLICT DO NOTHING
RETURNING id, kind, stage, task_id, flag_id, urge_id, checklist_id
"""
_COLUMNS = ("task_id", "flag_id", "urge_id", "checklist_id")


def _select(kind: str, source: str, id_sql: str, due_sql: str, stage_sql: str) -> str:
    """One candidate row per source row: its id in the source's column, NULL in the others (typed)."""
    ids = ", ".join(f"{id_sql if column == source else NULL_ID} AS {column}" for column in _COLUMNS)
    return f"SELECT {kind} AS kind, {ids}, {due_sql} AS due_at, {stage_sql} AS stage"


@dataclass(frozen=True)
class _Deadlines:
    """Rows with a deadline that the sweep chases: tasks, and integrity checklists (their campaign's)."""

    model: type
    column: str  # the Reminder column that points at a row of this source
    alias: str
    live: str  # SQL: the row is in a round the sweep watches
    open: Q
    overdue: Callable[[datetime], Q]
    at_risk: Q | None = None  # early warning (tasks only): judged at risk now


def _task_deadlines(sql: _Fragments, now: datetime, warning: EarlyWarning) -> _Deadlines:
    live = sql.where(Task, live_q(), "t", "live")
    return _Deadlines(Task, "task_id", "t", live, open_q(), overdue_q, at_risk=at_risk_q(now, warning))


def _checklist_deadlines(sql: _Fragments, now: datetime, warning: EarlyWarning) -> _Deadlines:
    live = sql.where(Checklist, in_active_campaign_q(), "k", "live")
    return _Deadlines(Checklist, "checklist_id", "k", live, checklist_open_q(), checklist_overdue_q)


def _deadline_candidates(
    source: _Deadlines, stages: Stages, now: datetime, sql: _Fragments, schools: SchoolRange
) -> str:
    a, model = source.alias, source.model
    in_shard = schools.sql(f"{a}.school_id", sql.params)
    batch = f"FROM {model._meta.db_table} {a} WHERE {a}.id >= %(lo)s AND {a}.id < %(hi)s{in_shard} AND {source.live}"
    # Foresight ("due soon", "at risk") after "overdue" for the same deadline would be a clock gone back,
    # never news.
    not_overdue_yet = (
        f"NOT EXISTS (SELECT 1 FROM tracker_reminder o WHERE o.{source.column} = {a}.id "
        f"AND o.due_at = {a}.due_at AND o.kind = %(overdue)s)"
    )
    parts = []
    if stages.due_soon_days:
        open_ = sql.where(model, source.open & due_soon_window_q(now, stages), a, "soon_window")
        stage = sql.add(expression_sql(model, due_soon_stage_expression(now, stages), alias=a), "soon_stage")
        parts.append(
            f"{_select('%(due_soon)s', source.column, f'{a}.id', f'{a}.due_at', stage)} {batch} AND {open_} "
            f"AND {not_overdue_yet}"
        )
    overdue = sql.where(model, source.overdue(now), a, "overdue")
    stage = sql.add(expression_sql(model, overdue_stage_expression(now, stages), alias=a), "overdue_stage")
    parts.append(f"{_select('%(overdue)s', source.column, f'{a}.id', f'{a}.due_at', stage)} {batch} AND {overdue}")
    escalating = sql.where(model, source.overdue(now) & escalation_q(now, stages), a, "escalation")
    parts.append(
        f"{_select('%(escalation)s', source.column, f'{a}.id', f'{a}.due_at', str(stages.escalation_days))} "
        f"{batch} AND {escalating}"
    )
    if source.at_risk is not None:
        at_risk = sql.where(model, source.at_risk, a, "at_risk")
        parts.append(
            f"{_select('%(at_risk)s', source.column, f'{a}.id', f'{a}.due_at', '0')} {batch} AND {at_risk} "
            f"AND {not_overdue_yet}"
        )
    return " UNION ALL ".join(parts)


def _fetch_planned(sql: str, params: dict[str, Any]) -> list[Planned]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Planned(*row) for row in cursor.fetchall()]


def _deadline_reminders_plan(
    deadlines: Callable[[_Fragments, datetime, EarlyWarning], _Deadlines],
    *,
    now: datetime,
    lo: int,
    hi: int,
    stages: Stages | None,
    warning: EarlyWarning | None,
    schools: SchoolRange | None,
) -> list[Planned]:
    stages = stages or Stages.from_settings()
    warning = warning or EarlyWarning.from_settings()
    params: dict[str, Any] = {
        "now": _ts(now),
        "lo": lo,
        "hi": hi,
        "due_soon": K.DUE_SOON,
        "overdue": K.OVERDUE,
        "escalation": K.ESCALATION,
        "at_risk": K.AT_RISK,
    }
    fragments = _Fragments(params)
    source = deadlines(fragments, now, warning)
    candidates = _deadline_candidates(source, stages, now, fragments, schools or SchoolRange())
    same_key = f"r.{source.column} = s.{source.column} AND r.due_at = s.due_at"
    return _fetch_planned(_INSERT.format(candidates=candidates, same_key=same_key), params)


def task_reminders_plan(
    *,
    now: datetime,
    lo: int,
    hi: int,
    stages: Stages | None = None,
    warning: EarlyWarning | None = None,
    schools: SchoolRange | None = None,
) -> list[Planned]:
    """Record the due reminders of the tasks with lo <= id < hi (of the schools in `schools`, a shard of
    the sweep, when given); returns the ones inserted now."""
    return _deadline_reminders_plan(
        _task_deadlines, now=now, lo=lo, hi=hi, stages=stages, warning=warning, schools=schools
    )


def checklist_reminders_plan(
    *,
    now: datetime,
    lo: int,
    hi: int,
    stages: Stages | None = None,
    warning: EarlyWarning | None = None,
    schools: SchoolRange | None = None,
) -> list[Planned]:
    """The same for the integrity checklists with lo <= id < hi, on their campaign's deadline."""
    return _deadline_reminders_plan(
        _checklist_deadlines, now=now, lo=lo, hi=hi, stages=stages, warning=warning, schools=schools
    )


def _in(column: str, ids: Iterable[int] | None) -> str:
    if ids is None:
        return ""
    listed = [int(i) for i in ids] or [0]
    return f" AND {column} IN ({', '.join(str(i) for i in listed)})"


def flag_reminders_plan(
    *,
    now: datetime,
    cycle_ids: Iterable[int] | None = None,
    campaign_ids: Iterable[int] | None = None,
    school_ids: Iterable[int] | None = None,
) -> list[Planned]:
    """flag_opened for every open flag, flag_critical for every open flag that has been critical
    (of the listed cycles and campaigns only, when either list is given)."""
    params: dict[str, Any] = {"now": _ts(now), "opened": K.FLAG_OPENED, "critical": K.FLAG_CRITICAL}
    live = _Fragments(params).where(Flag, live_q(), "f", "live")
    where = f"{live} AND f.resolved_at IS NULL"
    if cycle_ids is not None or campaign_ids is not None:
        rounds = [clause for clause in (_in("f.cycle_id", cycle_ids), _in("f.campaign_id", campaign_ids)) if clause]
        where += " AND (" + " OR ".join(clause.removeprefix(" AND ") for clause in rounds) + ")"
    where += _in("f.school_id", school_ids)
    base = f"FROM tracker_flag f WHERE {where}"
    candidates = (
        f"{_select('%(opened)s', 'flag_id', 'f.id', NULL_TS, '0')} {base} UNION ALL "
        f"{_select('%(critical)s', 'flag_id', 'f.id', NULL_TS, '0')} {base} AND f.escalated_at IS NOT NULL"
    )
    return _fetch_planned(_INSERT.format(candidates=candidates, same_key="r.flag_id = s.flag_id"), params)


def urge_reminders_plan(*, now: datetime) -> list[Planned]:
    """Once for every urge of an active round still unanswered after its respond_by: urge_overdue (to the
    school) and urge_unanswered (to the supervisors and inspectors of its authority)."""
    params: dict[str, Any] = {"now": _ts(now), "kind": K.URGE_OVERDUE, "unanswered": K.URGE_UNANSWERED}
    late = _Fragments(params).where(Urge, urge_overdue_q(now) & live_q(), "u", "late")
    source = f"FROM tracker_urge u WHERE {late}"
    candidates = (
        f"{_select('%(kind)s', 'urge_id', 'u.id', 'u.respond_by', '0')} {source} UNION ALL "
        f"{_select('%(unanswered)s', 'urge_id', 'u.id', 'u.respond_by', '0')} {source}"
    )
    return _fetch_planned(_INSERT.format(candidates=candidates, same_key="r.urge_id = s.urge_id"), params)
