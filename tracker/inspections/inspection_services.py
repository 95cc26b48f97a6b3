"""Writes of inspection rounds: record one, change one. Each records its event in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import ValidationFailed
from tracker.org.models import Unit
from tracker.updates import model_update

from .checks import actor_or_none, authority_check, not_in_future, school_under
from .models import Inspection, InspectionTarget, TargetKind
from .redaction import name_clean

MAX_TARGETS = 200
INSPECTION_UPDATABLE = ("kind", "held_on", "inspectors", "summary")


@dataclass(frozen=True)
class TargetInput:
    kind: str
    name: str = ""
    school: Unit | None = None


def _targets_clean(authority_id: int, targets: Sequence[TargetInput]) -> list[InspectionTarget]:
    if not targets:
        raise ValidationFailed("a round visits at least one target", field="targets")
    if len(targets) > MAX_TARGETS:
        raise ValidationFailed(f"at most {MAX_TARGETS} targets", field="targets")
    rows = []
    for position, target in enumerate(targets):
        if target.kind not in TargetKind.values:
            raise ValidationFailed(f"unknown target kind {target.kind!r}", field="targets")
        if target.kind == TargetKind.SCHOOL:
            if target.school is None:
                raise ValidationFailed("a school target names the school (`school`)", field="targets")
            school_under(authority_id, target.school, "targets")
        elif target.school is not None:
            raise ValidationFailed("only a target of kind `school` names a school", field="targets")
        name = name_clean(target.name) or (target.school.name if target.school else "")
        if not name:
            raise ValidationFailed("a target needs a name", field="targets")
        rows.append(InspectionTarget(position=position, kind=target.kind, name=name, school=target.school))
    return rows


def _targets_data(rows: Iterable[InspectionTarget]) -> list[dict[str, Any]]:
    return [{"kind": t.kind, "name": t.name, "school": t.school_id} for t in rows]


def _targets_save(inspection: Inspection, rows: list[InspectionTarget]) -> None:
    for row in rows:
        row.inspection = inspection
    InspectionTarget.objects.bulk_create(rows)


@transaction.atomic
def inspection_create(
    *,
    actor: Actor,
    authority: Unit,
    kind: str,
    held_on: date,
    inspectors: int,
    targets: Sequence[TargetInput],
    summary: str = "",
    now: datetime | None = None,
) -> Inspection:
    now = now or timezone.now()
    authority_check(authority)
    not_in_future(held_on, "held_on", now)
    if inspectors < 1:
        raise ValidationFailed("a round has at least one inspector", field="inspectors")
    rows = _targets_clean(authority.pk, targets)
    inspection = Inspection.objects.create(
        authority=authority,
        kind=kind,
        held_on=held_on,
        inspectors=inspectors,
        summary=summary,
        created_by=actor_or_none(actor),
        created_at=now,
        updated_at=now,
    )
    _targets_save(inspection, rows)
    event_record(
        type=EventType.INSPECTION_CREATED,
        subject=inspection,
        actor=actor,
        now=now,
        data={
            "authority": authority.pk,
            "kind": kind,
            "held_on": held_on,
            "inspectors": inspectors,
            "targets": _targets_data(rows),
        },
    )
    return inspection


@transaction.atomic
def inspection_update(
    *, actor: Actor, inspection: Inspection, changes: dict[str, Any], now: datetime | None = None
) -> Inspection:
    """Change a round's kind, date, inspectors, summary or targets (the list is replaced whole)."""
    now = now or timezone.now()
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    changes = dict(changes)
    targets = changes.pop("targets", None)
    if "held_on" in changes:
        not_in_future(changes["held_on"], "held_on", now)
    if "inspectors" in changes and changes["inspectors"] < 1:
        raise ValidationFailed("a round has at least one inspector", field="inspectors")
    rows = _targets_clean(inspection.authority_id, targets) if targets is not None else None
    changed = model_update(instance=inspection, fields=INSPECTION_UPDATABLE, data=changes, save=False)
    if rows is not None and _targets_data(inspection.targets.all()) != _targets_data(rows):
        inspection.targets.all().delete()
        _targets_save(inspection, rows)
        changed["targets"] = _targets_data(rows)
    if changed:
        inspection.updated_at = now
        inspection.save(update_fields=[f for f in changed if f != "targets"] + ["updated_at"])
        event_record(
            type=EventType.INSPECTION_UPDATED,
            subject=inspection,
            actor=actor,
            now=now,
            data={"authority": inspection.authority_id, "changed": changed},
        )
    return inspection
