"""Dashboard reads of one cycle's criteria (a row per criterion) and of one school in one cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Sum

from tracker.assessment.models import Cycle, Task
from tracker.assessment.rules import overdue_q, task_days_overdue, upcoming_q
from tracker.monitoring.models import Flag, Urge
from tracker.monitoring.rollup_models import RoundKind
from tracker.monitoring.rollup_reads import criterion_counts_sql
from tracker.monitoring.rollups import CRITERION_COUNTS, db_time
from tracker.monitoring.rules import at_risk_q, urge_is_overdue
from tracker.org.models import Unit

from .overview import iso_local
from .rules import COUNT_FIELDS, rates, task_count_aggregates


# --- Criteria ------------------------------------------------------------------------------------------
def criteria_overview(*, cycle: Cycle, roots: Sequence[int], now: datetime) -> list[dict[str, Any]]:
    """One row per criterion of the cycle, over the tasks of the schools under `roots`.

    Read from the cycle's criterion rollups (tracker.monitoring.rollup_reads.criterion_counts_sql), exact
    as of `now`, in one statement. `average_score` is the mean score of the scored (approved) tasks: the
    summed scores over the number scored; None when none is scored yet.
    """
    roots = sorted(set(roots))
    fields = "c.id, c.code, c.title, c.category, c.due_at, c.max_score"
    sql, params = criterion_counts_sql(
        kind=RoundKind.CYCLE,
        round_id=cycle.pk,
        now=now,
        roots=None if roots == [cycle.authority_id] else roots,
        then=(
            f"SELECT {fields}, {', '.join(f'COALESCE(p.{name}, 0)' for name in CRITERION_COUNTS)} "
            "FROM tracker_criterion c LEFT JOIN counted p ON p.criterion_id = c.id "
            "WHERE c.cycle_id = %s ORDER BY c.code, c.id"
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, cycle.pk])
        records = cursor.fetchall()
    rows = []
    for pk, code, title, category, due_at, max_score, *values in records:
        counts = dict(zip(CRITERION_COUNTS, values, strict=True))
        mean = Decimal(str(counts["score"])) / counts["scored"] if counts["scored"] else None
        rows.append(
            {
                "criterion": {"id": pk, "code": code, "title": title},
                "category": category,
                "due_at": iso_local(db_time(due_at)),  # SQLite: text or naive, in UTC
                "max_score": float(max_score),
                **{name: counts[name] for name in COUNT_FIELDS},
                **rates(counts),
                "extensions": counts["extensions"],
                "average_score": round(float(mean), 2) if mean is not None else None,
            }
        )
    return rows


# --- One school ----------------------------------------------------------------------------------------
def _task_brief(task: Task, now: datetime) -> dict[str, Any]:
    return {
        "id": task.pk,
        "criterion": {"id": task.criterion_id, "code": task.criterion.code, "title": task.criterion.title},
        "status": task.status,
        "due_at": iso_local(task.due_at),
        "days_overdue": task_days_overdue(task, now),
    }


def school_overview(*, cycle: Cycle, school: Unit, now: datetime) -> dict[str, Any]:
    """One school in one cycle: counts by status (and at risk), overdue tasks, tasks due soon, tasks at risk,
    score, flag, urges."""
    tasks = Task.objects.filter(cycle=cycle, school=school)
    counts = tasks.aggregate(**task_count_aggregates(now), max_score=Sum("criterion__max_score"))
    overdue = tasks.filter(overdue_q(now)).select_related("criterion").order_by("due_at", "id")
    due_soon = tasks.filter(upcoming_q(now)).select_related("criterion").order_by("due_at", "id")
    at_risk = tasks.filter(at_risk_q(now)).select_related("criterion").order_by("due_at", "id")
    flag = Flag.objects.filter(cycle=cycle, school=school, resolved_at__isnull=True).first()
    urges = Urge.objects.filter(cycle=cycle, school=school, responded_at__isnull=True).order_by("respond_by", "id")
    return {
        "cycle": cycle.pk,
        "school": {"id": school.pk, "name": school.name},
        "generated_at": iso_local(now),
        "counts": {name: counts[name] for name in COUNT_FIELDS},
        **rates(counts),
        "extensions": counts["extensions"],
        "score": float(counts["score"]),
        "max_score": float(counts["max_score"] or 0),
        "flag": None
        if flag is None
        else {
            "id": flag.pk,
            "severity": flag.severity,
            "overdue_count": flag.overdue_count,
            "max_days_overdue": flag.max_days_overdue,
            "opened_at": iso_local(flag.opened_at),
            "escalated_at": iso_local(flag.escalated_at),
        },
        "urges": [
            {
                "id": urge.pk,
                "message": urge.message,
                "respond_by": iso_local(urge.respond_by),
                "created_at": iso_local(urge.created_at),
                "overdue": urge_is_overdue(responded_at=urge.responded_at, respond_by=urge.respond_by, now=now),
            }
            for urge in urges
        ],
        "overdue_tasks": [_task_brief(task, now) for task in overdue],
        "due_soon": [_task_brief(task, now) for task in due_soon],
        "at_risk_tasks": [_task_brief(task, now) for task in at_risk],
    }
