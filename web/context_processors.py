"""What every page's header shows: the person's roles (for the navigation) and unread notifications.

Lazy: computed only when a template reads it, so the admin and the browsable API pay nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tracker import scope
from tracker.models import Notification


def header(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def roles() -> set[str]:
        return scope.roles_of(user)

    def unread() -> int:
        return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()

    return {"my_roles": SimpleLazyObject(roles), "unread_count": SimpleLazyObject(unread)}
