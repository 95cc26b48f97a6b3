"""Reminder stages (CONTRACT section 2) and their exactly-once record.

For each task still owed by its school: `due_soon` at 7 and 1 days before due_at, `overdue` at
days_overdue 0, 3, 6, ..., `escalation` once 7 days overdue (offsets are settings), and `at_risk` once
per due_at when early warning judges it at risk (CONTRACT section 7; stage 0). Flags remind at
`flag_opened` and `flag_critical`; urges at `urge_overdue` when their answer is late.

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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q

from tracker.assessment.models import CycleStatus, Task
from tracker.assessment.rules import open_q, overdue_q
from tracker.notify.models import NotificationKind
from tracker.sql import expression_sql, named, where_sql

from .models import Urge
from .rules import (
    EarlyWarning,
    Stages,
    at_risk_q,
    due_soon_stage_expression,
    due_soon_window_q,
    escalation_q,
    overdue_stage_expression,
    urge_overdue_q,
)

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
INSERT INTO tracker_reminder (kind, task_id, flag_id, urge_id, stage, due_at, created_at)
SELECT s.kind, s.task_id, s.flag_id, s.urge_id, s.stage, s.due_at, %(now)s
FROM ({candidates}) s
WHERE s.stage IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM tracker_reminder r
    WHERE {same_key} AND r.kind = s.kind AND r.stage >= s.stage
)
ORDER BY s.task_id, s.flag_id, s.urge_id, s.kind
ON CONFLICT DO NOTHING
RETURNING id, kind, stage, task_id, flag_id, urge_id
"""

_BATCH = """
FROM tracker_task t JOIN tracker_cycle c ON c.id = t.cycle_id
WHERE c.status = %(active)s AND t.id >= %(lo)s AND t.id < %(hi)s
"""
# Foresight ("due soon", "at risk") after "overdue" for the same deadline would be a clock gone back, never news.
_NOT_OVERDUE_YET = (
    "NOT EXISTS (SELECT 1 FROM tracker_reminder o WHERE o.task_id = t.id AND o.due_at = t.due_at "
    "AND o.kind = %(overdue)s)"
)


def _task_candidates(stages: Stages, warning: EarlyWarning, now: datetime, sql: _Fragments) -> str:
    parts = []
    if stages.due_soon_days:
        open_ = sql.where(Task, open_q() & due_soon_window_q(now, stages), "t", "soon_window")
        stage = sql.add(expression_sql(Task, due_soon_stage_expression(now, stages), alias="t"), "soon_stage")
        parts.append(
            f"SELECT %(due_soon)s AS kind, t.id AS task_id, {NULL_ID} AS flag_id, {NULL_ID} AS urge_id, "
            f"t.due_at AS due_at, {stage} AS stage {_BATCH} AND {open_} AND {_NOT_OVERDUE_YET}"
        )
    overdue = sql.where(Task, overdue_q(now), "t", "overdue")
    stage = sql.add(expression_sql(Task, overdue_stage_expression(now, stages), alias="t"), "overdue_stage")
    parts.append(f"SELECT %(overdue)s, t.id, {NULL_ID}, {NULL_ID}, t.due_at, {stage} {_BATCH} AND {overdue}")
    escalating = sql.where(Task, overdue_q(now) & escalation_q(now, stages), "t", "escalation")
    parts.append(
        f"SELECT %(escalation)s, t.id, {NULL_ID}, {NULL_ID}, t.due_at, {stages.escalation_days} {_BATCH} "
        f"AND {escalating}"
    )
    at_risk = sql.where(Task, at_risk_q(now, warning), "t", "at_risk")
    parts.append(
        f"SELECT %(at_risk)s, t.id, {NULL_ID}, {NULL_ID}, t.due_at, 0 {_BATCH} AND {at_risk} AND {_NOT_OVERDUE_YET}"
    )
    return " UNION ALL ".join(parts)


def _fetch_planned(sql: str, params: dict[str, Any]) -> list[Planned]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            Planned(id=row[0], kind=row[1], stage=row[2], task_id=row[3], flag_id=row[4], urge_id=row[5])
            for row in cursor.fetchall()
        ]


def task_reminders_plan(
    *, now: datetime, lo: int, hi: int, stages: Stages | None = None, warning: EarlyWarning | None = None
) -> list[Planned]:
    """Record the due reminders of the tasks with lo <= id < hi; returns the ones inserted now."""
    stages = stages or Stages.from_settings()
    warning = warning or EarlyWarning.from_settings()
    params: dict[str, Any] = {
        "now": _ts(now),
        "lo": lo,
        "hi": hi,
        "active": CycleStatus.ACTIVE,
        "due_soon": K.DUE_SOON,
        "overdue": K.OVERDUE,
        "escalation": K.ESCALATION,
        "at_risk": K.AT_RISK,
    }
    candidates = _task_candidates(stages, warning, now, _Fragments(params))
    sql = _INSERT.format(candidates=candidates, same_key="r.task_id = s.task_id AND r.due_at = s.due_at")
    return _fetch_planned(sql, params)


def flag_reminders_plan(
    *, now: datetime, cycle_ids: Iterable[int] | None = None, school_ids: Iterable[int] | None = None
) -> list[Planned]:
    """flag_opened for every open flag, flag_critical for every open flag that has been critical."""
    params: dict[str, Any] = {
        "now": _ts(now),
        "active": CycleStatus.ACTIVE,
        "opened": K.FLAG_OPENED,
        "critical": K.FLAG_CRITICAL,
    }
    where = "c.status = %(active)s AND f.resolved_at IS NULL"
    if cycle_ids is not None:
        ids = [int(i) for i in cycle_ids] or [0]
        where += f" AND f.cycle_id IN ({', '.join(str(i) for i in ids)})"
    if school_ids is not None:
        ids = [int(i) for i in school_ids] or [0]
        where += f" AND f.school_id IN ({', '.join(str(i) for i in ids)})"
    base = f"FROM tracker_flag f JOIN tracker_cycle c ON c.id = f.cycle_id WHERE {where}"
    candidates = (
        f"SELECT %(opened)s AS kind, {NULL_ID} AS task_id, f.id AS flag_id, {NULL_ID} AS urge_id, {NULL_TS} AS due_at, "
        f"0 AS stage "
        f"{base} UNION ALL "
        f"SELECT %(critical)s, {NULL_ID}, f.id, {NULL_ID}, {NULL_TS}, 0 {base} AND f.escalated_at IS NOT NULL"
    )
    return _fetch_planned(_INSERT.format(candidates=candidates, same_key="r.flag_id = s.flag_id"), params)


def urge_reminders_plan(*, now: datetime) -> list[Planned]:
    """Once for every urge of an active cycle still unanswered after its respond_by: urge_overdue (to the
    school) and urge_unanswered (to the supervisors and inspectors of its authority)."""
    params: dict[str, Any] = {
        "now": _ts(now),
        "active": CycleStatus.ACTIVE,
        "kind": K.URGE_OVERDUE,
        "unanswered": K.URGE_UNANSWERED,
    }
    late = _Fragments(params).where(Urge, urge_overdue_q(now), "u", "late")
    source = f"FROM tracker_urge u JOIN tracker_cycle c ON c.id = u.cycle_id WHERE c.status = %(active)s AND {late}"
    candidates = (
        f"SELECT %(kind)s AS kind, {NULL_ID} AS task_id, {NULL_ID} AS flag_id, u.id AS urge_id, "
        f"u.respond_by AS due_at, 0 AS stage {source} UNION ALL "
        f"SELECT %(unanswered)s, {NULL_ID}, {NULL_ID}, u.id, u.respond_by, 0 {source}"
    )
    return _fetch_planned(_INSERT.format(candidates=candidates, same_key="r.urge_id = s.urge_id"), params)
