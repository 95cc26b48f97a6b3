from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from ..errors import ValidationFailed
from ..events import event_record
from ..models import Unit, UnitKind
from ..scope import descendant_ids


@transaction.atomic
def unit_create(*, actor, name: str, code: str, kind: str, parent: Unit | None) -> Unit:
    if parent is not None and parent.kind != UnitKind.AUTHORITY:
        raise ValidationFailed("a unit's parent must be an authority", field="parent")
    if Unit.objects.filter(code=code).exists():
        raise ValidationFailed("a unit with that code already exists", field="code")
    try:
        with transaction.atomic():
            unit = Unit.objects.create(name=name, code=code, kind=kind, parent=parent)
    except IntegrityError as exc:  # a concurrent create with the same code won the race
        raise ValidationFailed("a unit with that code already exists", field="code") from exc
    event_record(
        type="unit.created",
        subject=unit,
        actor=actor,
        data={"name": name, "code": code, "kind": kind, "parent": parent.pk if parent else None},
    )
    return unit


@transaction.atomic
def unit_update(*, actor, unit: Unit, changes: dict[str, Any]) -> Unit:
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    if "parent" in changes:
        parent = changes["parent"]
        if parent is not None and (parent.kind != UnitKind.AUTHORITY or parent.pk in descendant_ids([unit.pk])):
            raise ValidationFailed("the parent must be an authority outside this unit's subtree", field="parent")
    if "code" in changes and Unit.objects.filter(code=changes["code"]).exclude(pk=unit.pk).exists():
        raise ValidationFailed("a unit with that code already exists", field="code")
    if "kind" in changes and changes["kind"] != unit.kind and (unit.children.exists() or unit.tasks.exists()):
        raise ValidationFailed("the kind of a unit with children or tasks cannot change", field="kind")
    changed = {}
    for field, value in changes.items():
        if getattr(unit, field) != value:
            setattr(unit, field, value)
            changed[field] = value.pk if isinstance(value, Unit) else value
    if changed:
        unit.save(update_fields=list(changed))
        event_record(type="unit.updated", subject=unit, actor=actor, data={"changed": changed})
    return unit
