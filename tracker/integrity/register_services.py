"""Writes of a school's register: its risk points (while the register is a draft or returned) and the
review loop (submit, approve, return). Each locks the register row, so a risk point can never slip in
beside a submission, and records its event in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.assessment.transitions import allowed_actions
from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import InvalidTransition, RegisterEmpty, RegisterLocked, ValidationFailed
from tracker.org.models import Unit, UnitKind
from tracker.org.selectors import roles_over
from tracker.org.tree import ancestor_ids
from tracker.updates import model_update

from .models import ListItem, Post, Register, RiskLevel, RiskPoint
from .rules import register_year, risk_point_check
from .texts import ACTION_LABELS, REGISTER_STATUS_LABELS, said
from .transitions import EDITABLE, REGISTER_TRANSITIONS, RegisterAction

RISK_UPDATABLE = ("item", "post", "description", "level", "measures", "process_map")


def _locked_register(*, school: Unit | int, year: int) -> Register:
    """The school's register of `year`, created as a draft if it has none yet, and locked."""
    school_id = school if isinstance(school, int) else school.pk
    Register.objects.get_or_create(school_id=school_id, year=year)
    return Register.objects.select_for_update().get(school_id=school_id, year=year)


def _editable(register: Register) -> Register:
    if register.status not in EDITABLE:
        raise RegisterLocked(
            _("The register has been submitted: its risk points are read-only unless it is returned."),
            status=register.status,
        )
    return register


def _check_item(item: ListItem, school_id: int) -> None:
    if item.unit_id not in ancestor_ids([school_id]):
        raise ValidationFailed(_("Choose an item of the school's own or of one of its authorities."), field="item")


def _check_fields(fields: dict[str, Any]) -> None:
    if fields["post"] not in Post.values:
        raise ValidationFailed(_("Unknown post."), field="post")
    if fields["level"] not in RiskLevel.values:
        raise ValidationFailed(_("The level is low, medium or high."), field="level")
    if not str(fields["description"]).strip():
        raise ValidationFailed(_("Describe the risk point."), field="description")
    risk_point_check(level=fields["level"], measures=fields["measures"], process_map=fields["process_map"])


def _risk_event(type_: EventType, risk: RiskPoint, actor: Actor, now: datetime, data: dict[str, Any]) -> None:
    event_record(
        type=type_,
        subject=risk,
        actor=actor,
        school=risk.school,
        now=now,
        data={"register": risk.register_id, "year": risk.register.year, **data},
    )


# --- Risk points -----------------------------------------------------------------------------------------
@transaction.atomic
def risk_create(
    *,
    actor: Actor,
    school: Unit,
    item: ListItem,
    post: str,
    description: str,
    level: str,
    measures: list[str],
    process_map: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> RiskPoint:
    """A risk point in the school's register of this year (the year of `now` in TIME_ZONE)."""
    now = now or timezone.now()
    if school.kind != UnitKind.SCHOOL:
        raise ValidationFailed(_("A risk point belongs to a school."), field="school")
    fields = {
        "post": post,
        "description": description,
        "level": level,
        "measures": list(measures),
        "process_map": list(process_map or []),
    }
    _check_fields(fields)
    _check_item(item, school.pk)
    register = _editable(_locked_register(school=school, year=register_year(now)))
    risk = RiskPoint.objects.create(register=register, school=school, item=item, created_at=now, **fields)
    _risk_event(EventType.RISK_CREATED, risk, actor, now, {"item": item.pk, "level": level, "post": post})
    return risk


@transaction.atomic
def risk_update(*, actor: Actor, risk: RiskPoint, changes: dict[str, Any], now: datetime | None = None) -> RiskPoint:
    now = now or timezone.now()
    register = _editable(Register.objects.select_for_update().get(pk=risk.register_id))
    risk = RiskPoint.objects.select_for_update().select_related("school").get(pk=risk.pk)
    risk.register = register
    merged = {name: changes.get(name, getattr(risk, name)) for name in ("post", "description", "level")}
    merged["measures"] = list(changes.get("measures", risk.measures))
    merged["process_map"] = list(changes.get("process_map", risk.process_map))
    _check_fields(merged)
    if "item" in changes:
        _check_item(changes["item"], risk.school_id)
    changed = model_update(instance=risk, fields=RISK_UPDATABLE, data=changes)
    if changed:
        if "item" in changed:
            changed["item"] = changed["item"].pk
        _risk_event(EventType.RISK_UPDATED, risk, actor, now, {"changed": changed})
    return risk


@transaction.atomic
def risk_delete(*, actor: Actor, risk: RiskPoint, now: datetime | None = None) -> None:
    now = now or timezone.now()
    register = _editable(Register.objects.select_for_update().get(pk=risk.register_id))
    risk = RiskPoint.objects.select_related("school").get(pk=risk.pk)
    risk.register = register
    data = {"item": risk.item_id, "level": risk.level, "post": risk.post, "description": risk.description}
    _risk_event(EventType.RISK_DELETED, risk, actor, now, data)
    risk.delete()


# --- The review loop -------------------------------------------------------------------------------------
def _transition(register: Register, action: RegisterAction, actor: Actor) -> str:
    rule = REGISTER_TRANSITIONS[action]
    if register.status not in rule.sources:
        # What this caller may do now: a school is not told of the supervisors' actions.
        roles = None if actor is None else roles_over(actor, register.school_id)
        raise InvalidTransition(
            _("The register is %(status)s: it cannot be %(action)s now.")
            % {"status": said(REGISTER_STATUS_LABELS, register.status), "action": said(ACTION_LABELS, action)},
            status=register.status,
            allowed=allowed_actions(register.status, roles=roles, table=REGISTER_TRANSITIONS),
        )
    return str(rule.target)


def _review_event(type_: EventType, register: Register, actor: Actor, now: datetime, **data: Any) -> None:
    event_record(
        type=type_,
        subject=register,
        actor=actor,
        school=register.school,
        now=now,
        data={"year": register.year, **data},
    )


@transaction.atomic
def register_submit(*, actor: Actor, school: Unit, year: int, now: datetime | None = None) -> Register:
    now = now or timezone.now()
    register = _locked_register(school=school, year=year)
    target = _transition(register, RegisterAction.SUBMIT, actor)
    count = register.risk_points.count()
    if count == 0:
        raise RegisterEmpty(_("The register has no risk point to submit."), status=register.status)
    register.status, register.submitted_at = target, now
    register.save(update_fields=["status", "submitted_at", "updated_at"])
    _review_event(EventType.REGISTER_SUBMITTED, register, actor, now, risk_points=count)
    return register


@transaction.atomic
def register_approve(*, actor: Actor, school: Unit, year: int, now: datetime | None = None) -> Register:
    now = now or timezone.now()
    register = _locked_register(school=school, year=year)
    register.status = _transition(register, RegisterAction.APPROVE, actor)
    register.reviewed_at, register.reviewed_by = now, actor
    register.save(update_fields=["status", "reviewed_at", "reviewed_by", "updated_at"])
    _review_event(EventType.REGISTER_APPROVED, register, actor, now)
    return register


@transaction.atomic
def register_return(*, actor: Actor, school: Unit, year: int, reason: str, now: datetime | None = None) -> Register:
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed(_("A return needs a reason."), field="reason")
    register = _locked_register(school=school, year=year)
    register.status = _transition(register, RegisterAction.RETURN, actor)
    register.reviewed_at, register.reviewed_by, register.return_reason = now, actor, reason
    register.save(update_fields=["status", "reviewed_at", "reviewed_by", "return_reason", "updated_at"])
    _review_event(EventType.REGISTER_RETURNED, register, actor, now, reason=reason)
    return register
