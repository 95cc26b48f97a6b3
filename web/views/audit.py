"""/audit/verify/: the event log's hash chain checked from the browser (supervisors and inspectors).

The same check as `manage.py verify_events` and GET /api/v1/events/verify/ (tracker.audit.events
.events_verify). It reads every event, so a person may run it only a few times a minute: the API's
rate (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["events_verify"]), counted in the shared cache.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tracker.audit.events import events_verify

from ..access import require_authority

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate() -> tuple[int, int]:
    """The API's verify rate ("6/min") as (requests, seconds)."""
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["events_verify"]
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def _allowed(user_id: int) -> bool:
    limit, seconds = _rate()
    key = f"web:events-verify:{user_id}"
    cache.add(key, 0, timeout=seconds)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        used = 1
    return used <= limit


@login_required
@require_http_methods(["GET", "POST"])
def event_log_verify(request: HttpRequest) -> HttpResponse:
    require_authority(request.user)
    context: dict = {"report": None, "throttled": False}
    status = 200
    if request.method == "POST":
        if _allowed(request.user.pk):
            context["report"] = events_verify()
        else:
            context["throttled"] = True
            status = 429
    template = "web/_verify_result.html" if request.htmx else "web/verify.html"
    return render(request, template, context, status=status)
