"""The API's side of scope: 404 for anything outside the caller's scope, then 403 for the wrong role.

Every view gets its queryset from tracker.scope, so a new endpoint cannot forget to scope.
"""

from __future__ import annotations

from django.db import models
from rest_framework.exceptions import PermissionDenied, ValidationError

from tracker import scope
from tracker.org.models import Unit


def require_role(user, unit: Unit | int, role: str, action: str) -> None:
    if not scope.has_role_over(user, unit, role):
        raise PermissionDenied(f"only a {role} of this unit may {action}")


def require_one_of_roles(user, unit: Unit | int, roles: tuple[str, ...], action: str) -> None:
    """`user` holds one of `roles` over `unit` (403 otherwise)."""
    if not any(scope.has_role_over(user, unit, role) for role in roles):
        raise PermissionDenied(f"only a {' or '.join(roles)} of this unit may {action}")


def require_any_role(user, roles: tuple[str, ...], action: str) -> None:
    if user.is_superuser:
        return
    if not (scope.roles_of(user) & set(roles)):
        raise PermissionDenied(f"only a {' or '.join(roles)} may {action}")


def unknown_reference(field: str, obj: models.Model) -> ValidationError:
    """The 400 for a body that names an object outside the caller's scope: it reads exactly like an id
    that does not exist (DRF's own message)."""
    return ValidationError({field: [f'Invalid pk "{obj.pk}" - object does not exist.']})
