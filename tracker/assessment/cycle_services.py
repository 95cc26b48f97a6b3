"""Writes of cycles and their criteria: create, edit, activate (materialise the tasks), close.

A criterion's new due time moves the tasks that follow it (no due time of their own), and each moved
task gets a `task.due_moved` event caused by the criterion's, so every task's history explains its
deadline.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.audit.events import event_record, events_append
from tracker.audit.models import Event
from tracker.audit.types import Actor, EventType
from tracker.errors import InvalidState, ValidationFailed
from tracker.org.models import Unit, UnitKind
from tracker.org.tree import SCHOOL, UNIT_TABLE, subtree_cte
from tracker.sql import rows_written
from tracker.updates import model_update

from .models import Criterion, Cycle, CycleStatus, Task, TaskStatus

CYCLE_UPDATABLE = (
    "name",
    "starts_on",
    "ends_on",
    "warning_overdue_tasks",
    "critical_overdue_tasks",
    "critical_days_overdue",
)
CRITERION_UPDATABLE = (
    "code",
    "title",
    "category",
    "requirement",
    "due_at",
    "max_score",
    "min_evidence",
    "deduction_rules",
    "late_penalty_per_day",
    "late_penalty_cap",
)

# One set-based statement: every school under the authority (at any depth) x the criteria, skipping
# pairs that already have a task (the unique constraint), so activation is idempotent and fast.
_UNDER_AUTHORITY = subtree_cte(f"SELECT u.id, u.id FROM {UNIT_TABLE} u WHERE u.id = %(authority)s")
_INSERT_TASKS_SQL = f"""
WITH RECURSIVE {_UNDER_AUTHORITY}
INSERT INTO tracker_task (cycle_id, criterion_id, school_id, status, due_at, has_own_due, original_due_at,
                          due_set_at, extensions, progress, note, deductions, review_comment, return_reason,
                          updated_at)
SELECT %(cycle)s, c.id, u.id, %(status)s, c.due_at, false, c.due_at, %(now)s, 0, 0, '', '[]', '', '', %(now)s
FROM tracker_criterion c
CROSS JOIN {UNIT_TABLE} u
WHERE c.cycle_id = %(cycle)s {{criterion_filter}}
  AND u.kind = '{SCHOOL}'
  AND u.id IN (SELECT id FROM tree)
ORDER BY u.id, c.id
ON CONFLICT (school_id, criterion_id) DO NOTHING
"""


def tasks_materialise(*, cycle: Cycle, criterion: Criterion | None = None, now: datetime | None = None) -> int:
    """Create the missing tasks of a cycle (or of one criterion); returns how many were created.

    Each task's deadline is set at `now` (activation, or the criterion's creation in an active cycle): early
    warning measures the expected progress from then.
    """
    params: dict[str, Any] = {
        "authority": cycle.authority_id,
        "cycle": cycle.pk,
        "status": TaskStatus.NOT_STARTED.value,
        "now": now or timezone.now(),
    }
    criterion_filter = ""
    if criterion is not None:
        criterion_filter = "AND c.id = %(criterion)s"
        params["criterion"] = criterion.pk
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_TASKS_SQL.format(criterion_filter=criterion_filter), params)
        return rows_written(cursor)


# --- Cycles ----------------------------------------------------------------------------------------------
@transaction.atomic
def cycle_create(
    *, actor: Actor, authority: Unit, name: str, starts_on: date, ends_on: date, **thresholds: Any
) -> Cycle:
    if authority.kind != UnitKind.AUTHORITY:
        raise ValidationFailed(_("A cycle belongs to an authority."), field="authority")
    if ends_on < starts_on:
        raise ValidationFailed(_("ends_on is before starts_on."), field="ends_on")
    cycle = Cycle.objects.create(authority=authority, name=name, starts_on=starts_on, ends_on=ends_on, **thresholds)
    event_record(
        type=EventType.CYCLE_CREATED,
        subject=cycle,
        actor=actor,
        cycle=cycle,
        data={"name": name, "authority": authority.pk},
    )
    return cycle


@transaction.atomic
def cycle_update(*, actor: Actor, cycle: Cycle, changes: dict[str, Any]) -> Cycle:
    """Edit a cycle's name, dates or thresholds. (No cycle field moves a task's due time.)"""
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if "status" in changes:
        raise ValidationFailed(_("The status changes only through activate and close."), field="status")
    if changes.get("ends_on", cycle.ends_on) < changes.get("starts_on", cycle.starts_on):
        raise ValidationFailed(_("ends_on is before starts_on."), field="ends_on")
    changed = model_update(instance=cycle, fields=CYCLE_UPDATABLE, data=changes)
    if changed:
        event_record(type=EventType.CYCLE_UPDATED, subject=cycle, actor=actor, cycle=cycle, data={"changed": changed})
    return cycle


@transaction.atomic
def cycle_activate(*, actor: Actor, cycle: Cycle, now: datetime | None = None) -> int:
    """Create one task per school x criterion. Idempotent: a second call creates nothing."""
    now = now or timezone.now()
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status == CycleStatus.CLOSED:
        raise InvalidState(_("A closed cycle cannot be activated."), status=cycle.status)
    created = tasks_materialise(cycle=cycle, now=now)
    if cycle.status == CycleStatus.DRAFT:
        cycle.status = CycleStatus.ACTIVE
        cycle.activated_at = now
        cycle.save(update_fields=["status", "activated_at"])
    event_record(
        type=EventType.CYCLE_ACTIVATED,
        subject=cycle,
        actor=actor,
        cycle=cycle,
        now=now,
        data={"tasks_created": created},
    )
    return created


@transaction.atomic
def cycle_close(*, actor: Actor, cycle: Cycle, now: datetime | None = None) -> Cycle:
    now = now or timezone.now()
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status != CycleStatus.ACTIVE:
        raise InvalidState(_("Only an active cycle can be closed."), status=cycle.status)
    cycle.status = CycleStatus.CLOSED
    cycle.closed_at = now
    cycle.save(update_fields=["status", "closed_at"])
    event_record(type=EventType.CYCLE_CLOSED, subject=cycle, actor=actor, cycle=cycle, now=now)
    return cycle


# --- Criteria --------------------------------------------------------------------------------------------
def _check_rules(rules: list[dict[str, Any]], max_score: Decimal) -> list[dict[str, Any]]:
    codes = [r["code"] for r in rules]
    if len(codes) != len(set(codes)):
        raise ValidationFailed(_("Deduction rule codes must be unique."), field="deduction_rules")
    return [{"code": r["code"], "description": r.get("description", ""), "points": str(r["points"])} for r in rules]


@transaction.atomic
def criterion_create(*, actor: Actor, cycle: Cycle, now: datetime | None = None, **fields: Any) -> Criterion:
    # Judge the cycle's current status, and serialise with activate/close of the same cycle.
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status == CycleStatus.CLOSED:
        raise InvalidState(_("Criteria cannot be added to a closed cycle."), status=cycle.status)
    if Criterion.objects.filter(cycle=cycle, code=fields["code"]).exists():
        raise ValidationFailed(_("A criterion with that code already exists in this cycle."), field="code")
    fields["deduction_rules"] = _check_rules(fields.get("deduction_rules", []), fields["max_score"])
    try:
        with transaction.atomic():
            criterion = Criterion.objects.create(cycle=cycle, **fields)
    except IntegrityError as exc:  # a concurrent create with the same code won the race
        raise ValidationFailed(_("A criterion with that code already exists in this cycle."), field="code") from exc
    created = tasks_materialise(cycle=cycle, criterion=criterion, now=now) if cycle.status == CycleStatus.ACTIVE else 0
    event_record(
        type=EventType.CRITERION_CREATED,
        subject=criterion,
        actor=actor,
        cycle=cycle,
        now=now,
        data={"code": criterion.code, "due_at": criterion.due_at, "tasks_created": created},
    )
    return criterion


@transaction.atomic
def criterion_update(
    *, actor: Actor, criterion: Criterion, changes: dict[str, Any], now: datetime | None = None
) -> Criterion:
    """Edit a criterion. A new due_at moves the tasks that have no due time of their own, and the original
    due time of every task of the criterion (CONTRACT section 7: only criterion edits move it)."""
    now = now or timezone.now()
    criterion = Criterion.objects.select_for_update().get(pk=criterion.pk)
    if (
        "code" in changes
        and Criterion.objects.filter(cycle=criterion.cycle_id, code=changes["code"]).exclude(pk=criterion.pk).exists()
    ):
        raise ValidationFailed(_("A criterion with that code already exists in this cycle."), field="code")
    if "deduction_rules" in changes:
        changes = {
            **changes,
            "deduction_rules": _check_rules(changes["deduction_rules"], changes.get("max_score", criterion.max_score)),
        }
    changed = model_update(instance=criterion, fields=CRITERION_UPDATABLE, data=changes)
    if not changed:
        return criterion
    following: list[tuple[int, int, datetime]] = []
    if "due_at" in changed:
        # The tasks that follow the criterion's due time, locked so none takes its own meanwhile.
        following = list(
            Task.objects.select_for_update(of=("self",))
            .filter(criterion=criterion, has_own_due=False)
            .order_by("id")
            .values_list("id", "school_id", "due_at")
        )
        Task.objects.filter(pk__in=[pk for pk, _, _ in following]).update(due_at=criterion.due_at, due_set_at=now)
        Task.objects.filter(criterion=criterion).update(original_due_at=criterion.due_at)
    cause = event_record(
        type=EventType.CRITERION_UPDATED,
        subject=criterion,
        actor=actor,
        cycle=criterion.cycle,
        now=now,
        data={"changed": changed, "tasks_moved": len(following)},
    )
    _due_moves_record(following, due_at=criterion.due_at, cause=cause)
    return criterion


def _due_moves_record(moved: list[tuple[int, int, datetime]], *, due_at: datetime, cause: Event) -> None:
    """One `task.due_moved` event per moved task, appended in bulk after their cause.

    Recorded, not dispatched: no handler needs them (the cause's own handler re-judges the cycle).
    """
    events_append(
        [
            Event(
                type=EventType.TASK_DUE_MOVED,
                occurred_at=cause.occurred_at,
                actor_id=cause.actor_id,
                cycle_id=cause.cycle_id,
                school_id=school_id,
                task_id=task_id,
                subject_type=Task._meta.model_name,
                subject_id=str(task_id),
                data={"from_due_at": previous, "due_at": due_at, "cause": cause.pk},
            )
            for task_id, school_id, previous in moved
        ]
    )
