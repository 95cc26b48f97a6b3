from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ..errors import InvalidState, ValidationFailed
from ..events import event_record
from ..models import Criterion, Cycle, CycleStatus, Unit, UnitKind

# One set-based statement: every school under the authority (at any depth) x the criteria, skipping
# pairs that already have a task (the unique constraint), so activation is idempotent and fast.
_INSERT_TASKS_SQL = """
WITH RECURSIVE under_authority(id) AS (
    SELECT id FROM tracker_unit WHERE id = %(authority)s
    UNION ALL
    SELECT u.id FROM tracker_unit u JOIN under_authority ua ON u.parent_id = ua.id
)
INSERT INTO tracker_task (cycle_id, criterion_id, school_id, status, due_at, has_own_due, progress, note,
                          deductions, review_comment, return_reason, updated_at)
SELECT %(cycle)s, c.id, u.id, 'not_started', c.due_at, false, 0, '', '[]', '', '', %(now)s
FROM tracker_criterion c
CROSS JOIN tracker_unit u
WHERE c.cycle_id = %(cycle)s {criterion_filter}
  AND u.kind = 'school'
  AND u.id IN (SELECT id FROM under_authority)
ORDER BY u.id, c.id
ON CONFLICT (school_id, criterion_id) DO NOTHING
"""


def tasks_materialise(*, cycle: Cycle, criterion: Criterion | None = None, now: datetime | None = None) -> int:
    """Create the missing tasks of a cycle (or of one criterion); returns how many were created."""
    params: dict[str, Any] = {
        "authority": cycle.authority_id,
        "cycle": cycle.pk,
        "now": now or timezone.now(),
    }
    criterion_filter = ""
    if criterion is not None:
        criterion_filter = "AND c.id = %(criterion)s"
        params["criterion"] = criterion.pk
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_TASKS_SQL.format(criterion_filter=criterion_filter), params)
        return max(cursor.rowcount, 0)


@transaction.atomic
def cycle_create(*, actor, authority: Unit, name: str, starts_on: date, ends_on: date, **thresholds: Any) -> Cycle:
    if authority.kind != UnitKind.AUTHORITY:
        raise ValidationFailed("a cycle belongs to an authority", field="authority")
    if ends_on < starts_on:
        raise ValidationFailed("ends_on is before starts_on", field="ends_on")
    cycle = Cycle.objects.create(authority=authority, name=name, starts_on=starts_on, ends_on=ends_on, **thresholds)
    event_record(
        type="cycle.created",
        subject=cycle,
        actor=actor,
        cycle=cycle,
        data={"name": name, "authority": authority.pk},
    )
    return cycle


@transaction.atomic
def cycle_update(*, actor, cycle: Cycle, changes: dict[str, Any]) -> Cycle:
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if "status" in changes:
        raise ValidationFailed("status changes through activate and close", field="status")
    changed = {}
    for field, value in changes.items():
        if getattr(cycle, field) != value:
            setattr(cycle, field, value)
            changed[field] = value
    if cycle.ends_on < cycle.starts_on:
        raise ValidationFailed("ends_on is before starts_on", field="ends_on")
    if changed:
        cycle.save(update_fields=list(changed))
        event_record(type="cycle.updated", subject=cycle, actor=actor, cycle=cycle, data={"changed": changed})
    return cycle


@transaction.atomic
def cycle_activate(*, actor, cycle: Cycle, now: datetime | None = None) -> int:
    """Create one task per school x criterion. Idempotent: a second call creates nothing."""
    now = now or timezone.now()
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status == CycleStatus.CLOSED:
        raise InvalidState("a closed cycle cannot be activated", status=cycle.status)
    created = tasks_materialise(cycle=cycle, now=now)
    if cycle.status == CycleStatus.DRAFT:
        cycle.status = CycleStatus.ACTIVE
        cycle.activated_at = now
        cycle.save(update_fields=["status", "activated_at"])
    event_record(
        type="cycle.activated",
        subject=cycle,
        actor=actor,
        cycle=cycle,
        now=now,
        data={"tasks_created": created},
    )
    return created


@transaction.atomic
def cycle_close(*, actor, cycle: Cycle, now: datetime | None = None) -> Cycle:
    now = now or timezone.now()
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status != CycleStatus.ACTIVE:
        raise InvalidState(f"only an active cycle can be closed (it is {cycle.status})", status=cycle.status)
    cycle.status = CycleStatus.CLOSED
    cycle.closed_at = now
    cycle.save(update_fields=["status", "closed_at"])
    event_record(type="cycle.closed", subject=cycle, actor=actor, cycle=cycle, now=now)
    return cycle
