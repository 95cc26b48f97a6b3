"""Reads with a rule in them. The API, the dashboards and the sweep share these definitions."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from .models import OPEN_STATUSES, Membership, Role, Task, Unit, UnitKind


def overdue_q(now: datetime, prefix: str = "") -> Q:
    """A task is overdue when now > due_at and the school still owes it (not submitted/approved)."""
    return Q(**{f"{prefix}status__in": OPEN_STATUSES, f"{prefix}due_at__lt": now})


def task_is_overdue(task: Task, now: datetime) -> bool:
    return task.status in OPEN_STATUSES and now > task.due_at


def task_days_overdue(task: Task, now: datetime) -> int:
    """Whole days since due_at; 0 when not overdue."""
    if not task_is_overdue(task, now):
        return 0
    return int((now - task.due_at).total_seconds() // 86400)


def tasks_overdue(qs: QuerySet[Task], now: datetime) -> QuerySet[Task]:
    return qs.filter(overdue_q(now))


def nearest_authority(unit: Unit) -> Unit | None:
    parent = unit.parent
    while parent is not None and parent.kind != UnitKind.AUTHORITY:
        parent = parent.parent
    return parent


def school_accounts(school_id: int) -> QuerySet:
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(memberships__unit_id=school_id, memberships__role=Role.SCHOOL, is_active=True)
        .distinct()
    )


def supervisors_of(unit_id: int) -> QuerySet:
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(memberships__unit_id=unit_id, memberships__role=Role.SUPERVISOR, is_active=True)
        .distinct()
    )


def membership_language(user_id: int) -> str:
    return (
        Membership.objects.filter(user_id=user_id).exclude(language="").values_list("language", flat=True).first() or ""
    )
