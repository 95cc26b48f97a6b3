"""Dashboard reads of one cycle's criteria (a row per criterion) and of one school in one cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Avg, FilteredRelation, Q, Sum
from django.db.models.expressions import RawSQL

from tracker.assessment.models import Criterion, Cycle, Task
from tracker.assessment.rules import overdue_q, task_days_overdue, upcoming_q
from tracker.monitoring.models import Flag, Urge
from tracker.monitoring.rules import at_risk_q, urge_is_overdue
from tracker.org.models import Unit
from tracker.org.tree import schools_under_sql

from .overview import iso_local
from .rules import COUNT_FIELDS, rates, task_count_aggregates


# --- Criteria ------------------------------------------------------------------------------------------
def criteria_overview(*, cycle: Cycle, roots: Sequence[int], now: datetime) -> list[dict[str, Any]]:
    """One row per criterion of the cycle, over the tasks of the schools under `roots`.

    `average_score` is the mean score of the scored (approved) tasks; None when none is scored yet.
    """
    roots = sorted(set(roots))
    condition = Q(tasks__cycle_id=cycle.pk)
    if roots != [cycle.authority_id]:
        condition &= Q(tasks__school_id__in=RawSQL(*schools_under_sql(roots)))
    aggregates = task_count_aggregates(now, prefix="scoped__")
    del aggregates["score"]
    # values(): the names of the aggregates ("tasks") would clash with the relations of Criterion.
    qs = (
        Criterion.objects.filter(cycle=cycle)
        .annotate(scoped=FilteredRelation("tasks", condition=condition))
        .values("pk", "code", "title", "category", "due_at", "max_score")
        .annotate(**{f"n_{name}": aggregate for name, aggregate in aggregates.items()}, mean=Avg("scoped__score"))
        .order_by("code", "pk")
    )
    records = list(qs)
    return [
        {
            "criterion": {"id": c["pk"], "code": c["code"], "title": c["title"]},
            "category": c["category"],
            "due_at": iso_local(c["due_at"]),
            "max_score": float(c["max_score"]),
            **{name: c[f"n_{name}"] for name in COUNT_FIELDS},
            **rates({name: c[f"n_{name}"] for name in aggregates}),
            "extensions": c["n_extensions"],
            "average_score": round(float(c["mean"]), 2) if c["mean"] is not None else None,
        }
        for c in records
    ]


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
