"""Writes of the monitoring context: urges (a supervisor's formal notice to a lagging school) and the
school's answer. Flags and reminders are written by the sweep (flags, reminder_plans, reminders)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.assessment.models import Cycle, CycleStatus
from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import InvalidState, ValidationFailed
from tracker.org.models import Unit, UnitKind
from tracker.org.tree import ancestor_ids

from .models import Urge
from .rules import urge_is_overdue


@transaction.atomic
def urge_create(
    *, actor: Actor, cycle: Cycle, school: Unit, message: str, respond_by: datetime, now: datetime | None = None
) -> Urge:
    """Urge a school of the cycle's authority; the school is notified after commit (urge.created)."""
    now = now or timezone.now()
    if school.kind != UnitKind.SCHOOL:
        raise ValidationFailed(_("An urge goes to a school."), field="school")
    if cycle.authority_id not in ancestor_ids([school.pk], include_self=False):
        raise ValidationFailed(_("Choose a school under this cycle's authority."), field="school")
    if not message.strip():
        raise ValidationFailed(_("Write a message."), field="message")
    if respond_by <= now:
        raise ValidationFailed(_("The answer deadline must be in the future."), field="respond_by")
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.status != CycleStatus.ACTIVE:
        raise InvalidState(_("Only the schools of an active cycle can be urged."), status=cycle.status)
    urge = Urge.objects.create(
        cycle=cycle, school=school, message=message, respond_by=respond_by, created_by=actor, created_at=now
    )
    event_record(
        type=EventType.URGE_CREATED,
        subject=urge,
        actor=actor,
        cycle=cycle,
        school=school,
        now=now,
        data={"message": message, "respond_by": respond_by},
    )
    return urge


@transaction.atomic
def urge_respond(*, actor: Actor, urge: Urge | int, response: str, now: datetime | None = None) -> Urge:
    """The school's answer; once only."""
    now = now or timezone.now()
    if not response.strip():
        raise ValidationFailed(_("Write an answer."), field="response")
    pk = urge if isinstance(urge, int) else urge.pk
    urge = Urge.objects.select_for_update().select_related("cycle", "school").get(pk=pk)
    if urge.responded_at is not None:
        raise InvalidState(_("This urge has already been answered."), status="answered")
    late = urge_is_overdue(responded_at=urge.responded_at, respond_by=urge.respond_by, now=now)
    urge.response = response
    urge.responded_at = now
    urge.responded_by = actor
    urge.save(update_fields=["response", "responded_at", "responded_by"])
    event_record(
        type=EventType.URGE_RESPONDED,
        subject=urge,
        actor=actor,
        cycle=urge.cycle,
        school=urge.school,
        now=now,
        data={"response": response, "late": late},
    )
    return urge
