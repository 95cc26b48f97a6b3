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
