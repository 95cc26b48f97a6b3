"""The API's side of scope: 404 for anything outside the caller's scope, then 403 for the wrong role.

Every view gets its queryset from tracker.scope, so a new endpoint cannot forget to scope. Refusals are
worded in the caller's language (api/locale): each view names its action with one of ACTIONS.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError

from tracker import scope
from tracker.org.models import Role, Unit

ROLES = {
    Role.SUPERVISOR: gettext_lazy("a supervisor"),
    Role.INSPECTOR: gettext_lazy("an inspector"),
    Role.SCHOOL: gettext_lazy("a school account"),
}

ACTIONS = {
    "activate cycles": gettext_lazy("activate cycles"),
    "answer urges": gettext_lazy("answer urges"),
    "appeal scores": gettext_lazy("appeal scores"),
    "approve tasks": gettext_lazy("approve tasks"),
    "close cycles": gettext_lazy("close cycles"),
    "create accounts": gettext_lazy("create accounts"),
    "create criteria": gettext_lazy("create criteria"),
    "create cycles": gettext_lazy("create cycles"),
    "create units": gettext_lazy("create units"),
    "decide appeals": gettext_lazy("decide appeals"),
    "decide extension requests": gettext_lazy("decide extension requests"),
    "delete evidence": gettext_lazy("delete evidence"),
    "edit criteria": gettext_lazy("edit criteria"),
    "edit cycles": gettext_lazy("edit cycles"),
    "edit units": gettext_lazy("edit units"),
    "extend tasks": gettext_lazy("extend tasks"),
    "manage webhooks": gettext_lazy("manage webhooks"),
    "read district dashboards": gettext_lazy("read district dashboards"),
    "read the event log": gettext_lazy("read the event log"),
    "report progress": gettext_lazy("report progress"),
    "request extensions": gettext_lazy("request extensions"),
    "return tasks": gettext_lazy("return tasks"),
    "start tasks": gettext_lazy("start tasks"),
    "submit tasks": gettext_lazy("submit tasks"),
    "upload evidence": gettext_lazy("upload evidence"),
    "urge schools": gettext_lazy("urge schools"),
    "verify the event log": gettext_lazy("verify the event log"),
    # Integrity programme
    "write list items": gettext_lazy("write list items"),
    "write this unit's list items": gettext_lazy("write this unit's list items"),
    "write risk points": gettext_lazy("write risk points"),
    "write this school's risk points": gettext_lazy("write this school's risk points"),
    "delete this school's risk points": gettext_lazy("delete this school's risk points"),
    "submit registers": gettext_lazy("submit registers"),
    "approve registers": gettext_lazy("approve registers"),
    "return registers": gettext_lazy("return registers"),
    "launch campaigns": gettext_lazy("launch campaigns"),
    "activate campaigns": gettext_lazy("activate campaigns"),
    "close campaigns": gettext_lazy("close campaigns"),
    "record checks": gettext_lazy("record checks"),
}


def _said(action: str) -> str:
    return str(ACTIONS.get(action, action))


def require_role(user, unit: Unit | int, role: str, action: str) -> None:
    if not scope.has_role_over(user, unit, role):
        raise PermissionDenied(
            _("Only %(role)s of this unit may %(action)s.") % {"role": ROLES.get(role, role), "action": _said(action)}
        )


def require_one_of_roles(user, unit: Unit | int, roles: tuple[str, ...], action: str) -> None:
    """`user` holds one of `roles` over `unit` (403 otherwise)."""
    if not any(scope.has_role_over(user, unit, role) for role in roles):
        raise PermissionDenied(f"only a {' or '.join(roles)} of this unit may {action}")


def require_any_role(user, roles: tuple[str, ...], action: str) -> None:
    if user.is_superuser:
        return
    if not (scope.roles_of(user) & set(roles)):
        who = _(" or ").join(str(ROLES.get(role, role)) for role in roles)
        raise PermissionDenied(_("Only %(role)s may %(action)s.") % {"role": who, "action": _said(action)})


def unknown_reference(field: str, obj: models.Model) -> ValidationError:
    """The 400 for a body that names an object outside the caller's scope: it reads exactly like an id
    that does not exist (DRF's own message, in the caller's language)."""
    message = str(serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"])
    return ValidationError({field: [message.format(pk_value=obj.pk)]})
