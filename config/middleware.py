"""Request-wide middleware of our own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tracker.memo import memo_scope
from tracker.reporting.after_response import after_response_queue, run_queued


def request_memo(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Each request asks for the caller's memberships (and where they reach) once: the scope checks, the
    role checks and the page header all read them (tracker.memo, tracker.scope)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        with memo_scope():
            return get_response(request)

    return middleware


def after_response(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Work queued while answering (tracker.reporting.after_response: what a full overview build keeps for
    later requests) runs when the response is closed, after its body is sent, not before."""

    def middleware(request: HttpRequest) -> HttpResponse:
        with after_response_queue() as queued:
            response = get_response(request)
        if queued:
            # Django's own list of what to call on close() (FileResponse closes its file there); close()
            # would swallow an error, run_queued logs it.
            response._resource_closers.append(lambda: run_queued(queued))
        return response

    return middleware
