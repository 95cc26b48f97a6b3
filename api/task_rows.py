"""A task as GET /api/v1/tasks/ writes it, built directly from the row.

DRF's generic per-field machinery cost a page of 50 tasks most of its server time (issue 14: a field
object, an attribute lookup and a time zone lookup per value, 25 values a row). The serializers in
api/serializers.py keep declaring the fields (the OpenAPI schema, and the answers of every action), and
call these functions to fill them; tests/api/test_task_rows.py holds the result equal to DRF's own
for tasks in every state, of both kinds.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tracker.assessment.models import Task
from tracker.assessment.rules import task_days_overdue, task_is_overdue
from tracker.monitoring.rules import task_is_at_risk

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


def task_row(task: Task, *, now: datetime) -> dict[str, Any]:
    """TaskSerializer's fields (the list's)."""
    zone = timezone.get_current_timezone()
    criterion = task.criterion if task.criterion_id is not None else None
    return {
        "id": task.pk,
        "kind": task.kind,
        "cycle": task.cycle_id,
        "campaign": task.campaign_id,
        "criterion": None
        if criterion is None
        else {"id": criterion.pk, "code": criterion.code, "title": criterion.title},
        "title": task.heading,
        "requirement": task.requirement_text,
        "school": {"id": task.school.pk, "name": task.school.name},
        "status": task.status,
        "due_at": _when(task.due_at, zone),
        "original_due_at": _when(task.original_due_at, zone),
        "extensions": task.extensions,
        "progress": task.progress,
        "note": task.note,
        "submitted_at": _when(task.submitted_at, zone),
        "reviewed_at": _when(task.reviewed_at, zone),
        "score": _money(task.score),
        "deductions": task.deductions,
        "late_penalty": _money(task.late_penalty),
        "review_comment": task.review_comment,
        "return_reason": task.return_reason,
        "is_overdue": task_is_overdue(task, now),
        "days_overdue": task_days_overdue(task, now),
        "is_at_risk": task_is_at_risk(task, now),
        "evidence_count": task.evidence_count,
        "updated_at": _when(task.updated_at, zone),
    }


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
