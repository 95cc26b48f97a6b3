from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ..errors import ValidationFailed
from ..events import event_record
from ..models import Membership, Role, Unit, UnitKind

User = get_user_model()

ROLE_UNIT_KIND = {
    Role.SCHOOL: UnitKind.SCHOOL,
    Role.SUPERVISOR: UnitKind.AUTHORITY,
    Role.INSPECTOR: UnitKind.AUTHORITY,
}


@transaction.atomic
def account_create(
    *, actor, username: str, password: str, unit: Unit, role: str, email: str = "", language: str = ""
) -> Membership:
    """Create a login acting as `role` at `unit`. School roles need a school, the others an authority."""
    if role not in ROLE_UNIT_KIND:
        raise ValidationFailed(f"unknown role {role!r}", field="role")
    if unit.kind != ROLE_UNIT_KIND[role]:
        raise ValidationFailed(f"role {role} needs a unit of kind {ROLE_UNIT_KIND[role].value}", field="unit")
    if User.objects.filter(username=username).exists():
        raise ValidationFailed("a user with that username already exists", field="username")
    try:
        validate_password(password, user=User(username=username))
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="password") from exc
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email)
    except IntegrityError as exc:  # a concurrent create with the same username won the race
        raise ValidationFailed("a user with that username already exists", field="username") from exc
    membership = Membership.objects.create(user=user, unit=unit, role=role, language=language)
    event_record(
        type="account.created",
        subject=user,
        actor=actor,
        school=unit if unit.kind == UnitKind.SCHOOL else None,
        data={"username": username, "unit": unit.pk, "role": role},
    )
    return membership


@transaction.atomic
def account_password_change(*, user, actor, new_password: str) -> None:
    """Set a new password (Django's validators). The API's tokens of the user die with the old one."""
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="new_password") from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    event_record(type="account.password_changed", subject=user, actor=actor, data={"username": user.get_username()})


LANGUAGES = ("zh-hans", "en")


@transaction.atomic
def account_update(*, user, actor, email: str | None = None, language: str | None = None) -> dict[str, str]:
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
        event_record(type="account.updated", subject=user, actor=actor, data={"changed": changed})
    return changed
