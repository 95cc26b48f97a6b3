"""A task as GET /api/v1/tasks/ writes it, built directly from the row.

DRF's generic per-field machinery cost a page of 50 tasks most of its server time (issue 14: a field
object, an attribute lookup and a time zone lookup per value, 25 values a row). The serializers in
api/serializers.py keep declaring the fields (the OpenAPI schema, and the answers of every action), and
call these functions to fill them; tests/api/test_task_rows.py holds the result equal to DRF's own
for tasks in every state, of both kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from tracker.assessment.models import Evidence, Task
from tracker.assessment.rules import days_overdue, is_overdue
from tracker.monitoring.rules import EarlyWarning, is_at_risk

CENTS = Decimal("0.01")


def _when(value: datetime | None, zone: tzinfo) -> str | None:
    """DRF's DateTimeField: in the current time zone, ISO 8601, `Z` for UTC."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _money(value: Decimal | float | str | None) -> str | None:
    """DRF's DecimalField(decimal_places=2) as a string."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = Decimal(str(value).strip())
    return f"{value.quantize(CENTS):f}"


# What a row is written from: the task's columns, its criterion's and its school's, and the evidence count.
# The list (GET /api/v1/tasks/) reads exactly these as dicts (`QuerySet.values`): no model instances, and
# none of the columns it does not show (the criterion's rules and dates, the school's tree).
ROW_COLUMNS = (
    "id",
    "kind",
    "cycle_id",
    "campaign_id",
    "criterion_id",
    "criterion__code",
    "criterion__title",
    "criterion__requirement",
    "title",
    "requirement",
    "school_id",
    "school__name",
    "status",
    "due_at",
    "original_due_at",
    "extensions",
    "progress",
    "note",
    "submitted_at",
    "reviewed_at",
    "score",
    "deductions",
    "late_penalty",
    "review_comment",
    "return_reason",
    "updated_at",
    "due_set_at",
    "last_activity_at",
    "evidence_count",
)


def with_row_columns(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """Tasks with what a row shows beside their own columns: the criterion, the school, the evidence count."""
    # The evidence count as a subquery, not a join and GROUP BY: one row per task, whatever else is counted.
    evidence = Evidence.objects.filter(task=OuterRef("pk")).order_by().values("task").annotate(n=Count("*"))
    count = Coalesce(Subquery(evidence.values("n")), 0)
    return tasks.select_related("criterion", "school").annotate(evidence_count=count)


@cache
def _every_row() -> QuerySet[Task]:
    return with_row_columns(Task.objects.all()).values(*ROW_COLUMNS)


def every_task_row() -> QuerySet[Task]:
    """Every task as the rows of ROW_COLUMNS (`with_row_columns(...).values(...)`): built once per process, a
    fresh clone for each caller (as DRF's `GenericAPIView.queryset.all()`), since building it cost the list's
    page a tenth of its server time (the joins of 29 columns, the evidence count's subquery). It names every
    task: the caller narrows it to the scope (tracker.scope.tasks_visible(user, within=...))."""
    return _every_row().all()


def _columns(task: Task) -> dict[str, Any]:
    """A task instance (with its criterion, school and evidence count) as the row the list reads."""
    criterion = task.criterion if task.criterion_id is not None else None
    return {
        **{name: getattr(task, name) for name in ROW_COLUMNS if "__" not in name},
        "criterion__code": None if criterion is None else criterion.code,
        "criterion__title": None if criterion is None else criterion.title,
        "criterion__requirement": None if criterion is None else criterion.requirement,
        "school__name": task.school.name,
    }


def _written(row: Mapping[str, Any], *, now: datetime, zone: tzinfo, warning: EarlyWarning) -> dict[str, Any]:
    """TaskSerializer's fields (the list's) from ROW_COLUMNS."""
    criterion_id = row["criterion_id"]
    status, due_at = row["status"], row["due_at"]
    overdue = is_overdue(status=status, due_at=due_at, now=now)
    return {
        "id": row["id"],
        "kind": row["kind"],
        "cycle": row["cycle_id"],
        "campaign": row["campaign_id"],
        "criterion": None
        if criterion_id is None
        else {"id": criterion_id, "code": row["criterion__code"], "title": row["criterion__title"]},
        # Task.heading and Task.requirement_text: the criterion's, or a rectification's own.
        "title": row["title"] if criterion_id is None else row["criterion__title"],
        "requirement": row["requirement"] if criterion_id is None else row["criterion__requirement"],
        "school": {"id": row["school_id"], "name": row["school__name"]},
        "status": status,
        "due_at": _when(due_at, zone),
        "original_due_at": _when(row["original_due_at"], zone),
        "extensions": row["extensions"],
        "progress": row["progress"],
        "note": row["note"],
        "submitted_at": _when(row["submitted_at"], zone),
        "reviewed_at": _when(row["reviewed_at"], zone),
        "score": _money(row["score"]),
        "deductions": row["deductions"],
        "late_penalty": _money(row["late_penalty"]),
        "review_comment": row["review_comment"],
        "return_reason": row["return_reason"],
        "is_overdue": overdue,
        "days_overdue": days_overdue(now, due_at) if overdue else 0,
        "is_at_risk": is_at_risk(
            status=status,
            due_at=due_at,
            progress=row["progress"],
            due_set_at=row["due_set_at"],
            last_activity_at=row["last_activity_at"],
            now=now,
            warning=warning,
        ),
        "evidence_count": row["evidence_count"],
        "updated_at": _when(row["updated_at"], zone),
    }


def task_rows(rows: Iterable[Mapping[str, Any]], *, now: datetime) -> list[dict[str, Any]]:
    """TaskSerializer's fields for each row of ROW_COLUMNS (the list's page)."""
    zone, warning = timezone.get_current_timezone(), EarlyWarning.from_settings()
    return [_written(row, now=now, zone=zone, warning=warning) for row in rows]


def task_row(task: Task, *, now: datetime) -> dict[str, Any]:
    """TaskSerializer's fields (the list's) for one task instance."""
    return task_rows([_columns(task)], now=now)[0]


def task_detail_row(task: Task, *, now: datetime) -> dict[str, Any]:
    """TaskDetailSerializer's fields: the list's, and the rules the school and the reviewer work to."""
    return {
        **task_row(task, now=now),
        "deduction_rules": [
            {"code": rule["code"], "description": rule.get("description", ""), "points": _money(rule["points"])}
            for rule in task.rules
        ],
        "max_score": _money(task.max_score),
        "min_evidence": task.min_evidence,
    }
