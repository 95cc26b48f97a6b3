"""Writes of the org context: units and accounts. Each records its event in the same transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import ValidationFailed
from tracker.updates import model_update

from .models import Membership, Role, Unit, UnitKind
from .tree import descendant_ids

User = get_user_model()

ROLE_UNIT_KIND = {
    Role.SCHOOL: UnitKind.SCHOOL,
    Role.SUPERVISOR: UnitKind.AUTHORITY,
    Role.INSPECTOR: UnitKind.AUTHORITY,
}
UNIT_UPDATABLE = ("name", "code", "kind", "parent")


def unit_check(*, unit: Unit | None, changes: dict[str, Any]) -> None:
    """The rules of a new unit (`unit` None) or of changes to one; ValidationFailed names the field.

    The services judge with it under their lock; the admin's form asks it first, to show a refusal
    beside its field."""
    if "parent" in changes:
        parent = changes["parent"]
        if unit is None and parent is not None and parent.kind != UnitKind.AUTHORITY:
            raise ValidationFailed(_("A unit's parent must be an authority."), field="parent")
        if (
            unit is not None
            and parent is not None
            and (parent.kind != UnitKind.AUTHORITY or parent.pk in descendant_ids([unit.pk]))
        ):
            raise ValidationFailed(_("The parent must be an authority outside this unit's subtree."), field="parent")
    if "code" in changes:
        others = Unit.objects.filter(code=changes["code"])
        if (others if unit is None else others.exclude(pk=unit.pk)).exists():
            raise ValidationFailed(_("A unit with that code already exists."), field="code")
    if (
        unit is not None
        and "kind" in changes
        and changes["kind"] != unit.kind
        and (unit.children.exists() or unit.tasks.exists())
    ):
        raise ValidationFailed(_("The kind of a unit with children or tasks cannot change."), field="kind")


@transaction.atomic
def unit_create(*, actor: Actor, name: str, code: str, kind: str, parent: Unit | None) -> Unit:
    unit_check(unit=None, changes={"code": code, "parent": parent})
    try:
        with transaction.atomic():
            unit = Unit.objects.create(name=name, code=code, kind=kind, parent=parent)
    except IntegrityError as exc:  # a concurrent create with the same code won the race
        raise ValidationFailed(_("A unit with that code already exists."), field="code") from exc
    event_record(
        type=EventType.UNIT_CREATED,
        subject=unit,
        actor=actor,
        data={"name": name, "code": code, "kind": kind, "parent": parent.pk if parent else None},
    )
    return unit


@transaction.atomic
def unit_update(*, actor: Actor, unit: Unit, changes: dict[str, Any]) -> Unit:
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    unit_check(unit=unit, changes=changes)
    changed = model_update(instance=unit, fields=UNIT_UPDATABLE, data=changes)
    if changed:
        shown = {k: (v.pk if isinstance(v, Unit) else v) for k, v in changed.items()}
        event_record(type=EventType.UNIT_UPDATED, subject=unit, actor=actor, data={"changed": shown})
    return unit


@transaction.atomic
def account_create(
    *, actor: Actor, username: str, password: str, unit: Unit, role: str, email: str = "", language: str = ""
) -> Membership:
    """Create a login acting as `role` at `unit`. School roles need a school, the others an authority."""
    if role not in ROLE_UNIT_KIND:
        raise ValidationFailed(_("Unknown role %(role)s.") % {"role": role}, field="role")
    if unit.kind != ROLE_UNIT_KIND[role]:
        raise ValidationFailed(
            _("The role %(role)s needs a unit of kind %(kind)s.") % {"role": role, "kind": ROLE_UNIT_KIND[role].value},
            field="unit",
        )
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(_("A user with that username already exists."), field="username")
    try:
        validate_password(password, user=User(username=username))
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="password") from exc
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email)
    except IntegrityError as exc:  # a concurrent create with the same username won the race
        raise ValidationFailed(_("A user with that username already exists."), field="username") from exc
    membership = Membership.objects.create(user=user, unit=unit, role=role, language=language)
    event_record(
        type=EventType.ACCOUNT_CREATED,
        subject=user,
        actor=actor,
        school=unit if unit.kind == UnitKind.SCHOOL else None,
        data={"username": username, "unit": unit.pk, "role": role},
    )
    return membership


@transaction.atomic
def account_password_change(*, user, actor: Actor, new_password: str) -> None:
    """Set a new password (Django's validators). The API's tokens of the user die with the old one."""
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="new_password") from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    event_record(
        type=EventType.ACCOUNT_PASSWORD_CHANGED, subject=user, actor=actor, data={"username": user.get_username()}
    )


# What Django's user admin may change on an account, shown in its event (a password is named, never shown).
ACCOUNT_ADMIN_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")


@transaction.atomic
def account_admin_save(*, actor: Actor, user, created: bool, changed: list[str]) -> None:
    """Save an account as Django's user admin left it, and record the change: `account.created`, or
    `account.password_changed` / `account.updated` naming the changed fields. (Saving a new password or
    a deactivation revokes the user's API tokens, as on every path: api/tokens.py.)"""
    user.save()
    shown = {name: getattr(user, name) for name in ACCOUNT_ADMIN_FIELDS if name in changed}
    others = sorted(set(changed) - set(ACCOUNT_ADMIN_FIELDS) - {"password", "password1", "password2"})
    if created:
        data = {"username": user.get_username(), "unit": None, "role": None, "via": "admin"}
        event_record(type=EventType.ACCOUNT_CREATED, subject=user, actor=actor, data=data)
        return
    if {"password", "password1"} & set(changed):
        data = {"username": user.get_username()}
        event_record(type=EventType.ACCOUNT_PASSWORD_CHANGED, subject=user, actor=actor, data=data)
    if shown or others:
        data = {"changed": {**shown, **dict.fromkeys(others, "(changed)")}}
        event_record(type=EventType.ACCOUNT_UPDATED, subject=user, actor=actor, data=data)


LANGUAGES = ("zh-hans", "en")


@transaction.atomic
def account_update(*, user, actor: Actor, email: str | None = None, language: str | None = None) -> dict[str, str]:
    """A person's own e-mail address and language (of e-mails and notifications: every membership's)."""
    changed: dict[str, str] = {}
    if email is not None and email != user.email:
        user.email = email
        user.save(update_fields=["email"])
        changed["email"] = email
    if language is not None:
        if language not in LANGUAGES:
            raise ValidationFailed(f"one of {', '.join(LANGUAGES)}", field="language")
        if Membership.objects.filter(user=user).exclude(language=language).update(language=language):
            changed["language"] = language
    if changed:
        event_record(type=EventType.ACCOUNT_UPDATED, subject=user, actor=actor, data={"changed": changed})
    return changed
