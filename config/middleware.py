"""Request-wide middleware of our own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tracker.memo import memo_scope


def request_memo(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Each request asks for the caller's memberships (and where they reach) once: the scope checks, the
    role checks and the page header all read them (tracker.memo, tracker.scope)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        with memo_scope():
            return get_response(request)

    return middleware
