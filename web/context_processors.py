"""What every page's header shows: the person's roles (for the navigation) and unread notifications.

Lazy: computed only when a template reads it, so the admin and the browsable API pay nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tracker import scope
from tracker.memo import memo_put, memoized
from tracker.models import Notification


def _unread(user_id: int):
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True)


def unread_count_subquery(user_id: int) -> Coalesce:
    """The header's unread count as an expression, for a page to read it with its own statement."""
    counted = _unread(user_id).order_by().values("recipient_id").annotate(n=Count("*"))  # one group: the caller
    return Coalesce(Subquery(counted.values("n")), 0)


def unread_count_known(user_id: int, count: int) -> None:
    """What such a statement read: the header shows it without asking again (for this request)."""
    memo_put(("unread", user_id), count)


def header(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def roles() -> set[str]:
        return scope.roles_of(user)

    def unread() -> int:
        return memoized(("unread", user.pk), lambda: _unread(user.pk).count())

    return {"my_roles": SimpleLazyObject(roles), "unread_count": SimpleLazyObject(unread)}
