from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from ..errors import InvalidState, ValidationFailed
from ..events import event_record
from ..models import Criterion, Cycle, CycleStatus, Task
from .cycles import tasks_materialise


def _check_rules(rules: list[dict[str, Any]], max_score: Decimal) -> list[dict[str, Any]]:
    codes = [r["code"] for r in rules]
    if len(codes) != len(set(codes)):
        raise ValidationFailed("deduction rule codes must be unique", field="deduction_rules")
    return [{"code": r["code"], "description": r.get("description", ""), "points": str(r["points"])} for r in rules]


@transaction.atomic
def criterion_create(*, actor, cycle: Cycle, **fields: Any) -> Criterion:
    # Judge the cycle's current status, and serialise with activate/close of the same cycle.
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status == CycleStatus.CLOSED:
        raise InvalidState("criteria cannot be added to a closed cycle", status=cycle.status)
    if Criterion.objects.filter(cycle=cycle, code=fields["code"]).exists():
        raise ValidationFailed("a criterion with that code already exists in this cycle", field="code")
    fields["deduction_rules"] = _check_rules(fields.get("deduction_rules", []), fields["max_score"])
    try:
        with transaction.atomic():
            criterion = Criterion.objects.create(cycle=cycle, **fields)
    except IntegrityError as exc:  # a concurrent create with the same code won the race
        raise ValidationFailed("a criterion with that code already exists in this cycle", field="code") from exc
    created = tasks_materialise(cycle=cycle, criterion=criterion) if cycle.status == CycleStatus.ACTIVE else 0
    event_record(
        type="criterion.created",
        subject=criterion,
        actor=actor,
        cycle=cycle,
        data={"code": criterion.code, "due_at": criterion.due_at, "tasks_created": created},
    )
    return criterion


@transaction.atomic
def criterion_update(*, actor, criterion: Criterion, changes: dict[str, Any]) -> Criterion:
    """Edit a criterion. A new due_at moves the tasks that have no due time of their own."""
    criterion = Criterion.objects.select_for_update().get(pk=criterion.pk)
    if (
        "code" in changes
        and Criterion.objects.filter(cycle=criterion.cycle_id, code=changes["code"]).exclude(pk=criterion.pk).exists()
    ):
        raise ValidationFailed("a criterion with that code already exists in this cycle", field="code")
    if "deduction_rules" in changes:
        changes["deduction_rules"] = _check_rules(
            changes["deduction_rules"], changes.get("max_score", criterion.max_score)
        )
    changed = {}
    for field, value in changes.items():
        if getattr(criterion, field) != value:
            setattr(criterion, field, value)
            changed[field] = value
    if not changed:
        return criterion
    criterion.save(update_fields=[*changed, "updated_at"])
    moved = 0
    if "due_at" in changed:
        moved = Task.objects.filter(criterion=criterion, has_own_due=False).update(due_at=criterion.due_at)
    event_record(
        type="criterion.updated",
        subject=criterion,
        actor=actor,
        cycle=criterion.cycle,
        data={"changed": changed, "tasks_moved": moved},
    )
    return criterion
