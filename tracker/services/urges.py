"""Urges: a supervisor's formal notice to a lagging school, and the school's answer."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..errors import InvalidState, ValidationFailed
from ..events import event_record
from ..models import Cycle, CycleStatus, Unit, UnitKind, Urge
from ..scope import ancestor_ids


@transaction.atomic
def urge_create(
    *, actor, cycle: Cycle, school: Unit, message: str, respond_by: datetime, now: datetime | None = None
) -> Urge:
    """Urge a school of the cycle's authority; the school is notified after commit (urge.created)."""
    now = now or timezone.now()
    if school.kind != UnitKind.SCHOOL:
        raise ValidationFailed("an urge goes to a school", field="school")
    if cycle.authority_id not in ancestor_ids([school.pk], include_self=False):
        raise ValidationFailed("the school is not under the cycle's authority", field="school")
    if not message.strip():
        raise ValidationFailed("an urge needs a message", field="message")
    if respond_by <= now:
        raise ValidationFailed("respond_by must be in the future", field="respond_by")
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status != CycleStatus.ACTIVE:
        raise InvalidState(f"only an active cycle's schools can be urged (it is {cycle.status})", status=cycle.status)
    urge = Urge.objects.create(
        cycle=cycle, school=school, message=message, respond_by=respond_by, created_by=actor, created_at=now
    )
    event_record(
        type="urge.created",
        subject=urge,
        actor=actor,
        cycle=cycle,
        school=school,
        now=now,
        data={"message": message, "respond_by": respond_by},
    )
    return urge


@transaction.atomic
def urge_respond(*, actor, urge: Urge | int, response: str, now: datetime | None = None) -> Urge:
    """The school's answer; once only."""
    now = now or timezone.now()
    if not response.strip():
        raise ValidationFailed("an answer needs a text", field="response")
    pk = urge if isinstance(urge, int) else urge.pk
    urge = Urge.objects.select_for_update().select_related("cycle", "school").get(pk=pk)
    if urge.responded_at is not None:
        raise InvalidState("this urge has already been answered", status="answered")
    urge.response = response
    urge.responded_at = now
    urge.responded_by = actor
    urge.save(update_fields=["response", "responded_at", "responded_by"])
    event_record(
        type="urge.responded",
        subject=urge,
        actor=actor,
        cycle=urge.cycle,
        school=urge.school,
        now=now,
        data={"response": response, "late": now > urge.respond_by},
    )
    return urge
