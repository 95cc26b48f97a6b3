"""One throttle and lock-out policy for every way to log in (CONTRACT section 3, v2).

Every login path calls django.contrib.auth.authenticate(): the API's token view (api/auth.py), the
admin's login page, the web app's /login/ (Django's LoginView), the API's password change. django-axes
hooks that call: its backend (first in AUTHENTICATION_BACKENDS) refuses a locked request before any
password is checked, and Django's `user_login_failed` signal reaches LoginPolicyHandler below, which
counts the failure. So a new login page is covered the day it calls authenticate(), with nothing to add.

The policy, in the shared cache (Redis in production, so every web worker sees the same counts):

- failures are counted per client address (whatever username: password spraying) and per username
  (whatever address: a distributed guess at one account), each against its own limit
  (LOGIN_FAILURES_PER_ADDRESS, LOGIN_FAILURES_PER_USERNAME) within a window of LOGIN_LOCKOUT_SECONDS
  from the first failure;
- a limit reached locks that address or that username for LOGIN_LOCKOUT_SECONDS. Attempts refused
  while locked are not counted and do not extend the lock, so an attacker can hold nobody out for
  longer than one lock-out at a time, and the owner gets in as soon as it ends;
- successful logins are never counted nor limited;
- the address is REMOTE_ADDR, or the entry our own proxies appended to X-Forwarded-For (NUM_PROXIES):
  a client cannot reset its count by sending that header itself;
- if the cache is down, logins stay up, unthrottled, and the outage is logged.

Addresses and usernames are counted under different cache keys (django-axes' own keys hash the bare
value, so a username spelled like an address would share that address's counter).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from datetime import timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cache, get_client_username
from axes.signals import user_locked_out
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a cache in trouble raises (Django's Redis back-end: redis-py's errors; others: socket errors).
CACHE_ERRORS = (RedisError, OSError)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with NUM_PROXIES > 0 the entry the nearest of our proxies
    appended to X-Forwarded-For (entries further left are the client's own word). As DRF's throttles."""
    remote = request.META.get("REMOTE_ADDR")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    proxies = int(getattr(settings, "NUM_PROXIES", 0) or 0)
    if proxies <= 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",")]
    return entries[-min(proxies, len(entries))] or remote


def cool_off(request: HttpRequest | None = None) -> timedelta:
    return timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


def failure_limit(request: HttpRequest | None = None, credentials: dict | None = None) -> int:
    return int(settings.LOGIN_FAILURES_PER_USERNAME)


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:40]
    return f"login:{kind}:{digest}"


def _subjects(request: HttpRequest, credentials: dict | None) -> list[tuple[str, int]]:
    """(counter key, limit) of what this attempt is counted against: its address and its username."""
    subjects = []
    address = getattr(request, "axes_ip_address", None) or client_ip(request)
    if address:
        subjects.append((_key("address", address), int(settings.LOGIN_FAILURES_PER_ADDRESS)))
    username = get_client_username(request, credentials)
    if username:
        subjects.append((_key("username", str(username)), int(settings.LOGIN_FAILURES_PER_USERNAME)))
    return subjects


class LoginPolicyHandler(AbstractAxesHandler, AxesBaseHandler):
    """django-axes' handler for the policy above (settings.AXES_HANDLER)."""

    @property
    def cache(self):
        # Looked up on each use, not kept: Django's cache handles are per thread and per settings.
        return get_cache()

    def locked_until(self, request: HttpRequest, credentials: dict | None = None) -> float | None:
        """When the lock on this attempt's address or username ends (a Unix time); None when not locked."""
        keys = [f"{key}:lock" for key, _limit in _subjects(request, credentials)]
        try:
            ends = self.cache.get_many(keys)
        except CACHE_ERRORS as exc:
            logger.warning("login lock-out not checked: its cache is unavailable (%s)", exc)
            return None
        now = time.time()
        pending = [end for end in ends.values() if isinstance(end, int | float) and end > now]
        return max(pending) if pending else None

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        return self.locked_until(request, credentials) is not None

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        try:
            counts = self.cache.get_many([key for key, _limit in _subjects(request, credentials)])
        except CACHE_ERRORS:
            return 0
        return max(counts.values(), default=0)

    def user_login_failed(self, sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
        if request is None:
            return
        if getattr(request, "axes_locked_out", False):
            # Refused by the lock itself: not a guess at the password, and it must not extend the lock.
            request.axes_credentials = credentials
            return
        window = int(settings.LOGIN_LOCKOUT_SECONDS)
        for key, limit in _subjects(request, credentials):
            try:
                failures = self._count(key, window)
                if failures >= limit:
                    # Lock from now for one window; the count starts afresh when the lock ends.
                    self.cache.set(f"{key}:lock", time.time() + window, window)
                    self.cache.delete(key)
                    logger.warning("login locked for %s s after %s failures (%s)", window, failures, key)
                    user_locked_out.send(
                        "axes",
                        request=request,
                        username=get_client_username(request, credentials),
                        ip_address=getattr(request, "axes_ip_address", None),
                    )
            except CACHE_ERRORS as exc:
                logger.warning("login failure not counted: its cache is unavailable (%s)", exc)
                return

    def _count(self, key: str, window: int) -> int:
        """Add one failure to a counter that lives `window` seconds from its first failure (not extended)."""
        if self.cache.add(key, 1, window):
            return 1
        try:
            return self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.add(key, 1, window)
            return 1

    def user_logged_in(self, sender: Any, request: HttpRequest, user: Any, **kwargs) -> None:
        """Successful logins are neither counted nor limited."""

    def user_logged_out(self, sender: Any, request: HttpRequest, user: Any, **kwargs) -> None:
        """Nothing to record."""

    def reset_attempts(self, *, ip_address: str | None = None, username: str | None = None, **kwargs) -> int:
        """Lift the counts and locks of an address or a username (`manage.py axes_reset_ip` / `_username`)."""
        keys = []
        if ip_address:
            keys.append(_key("address", ip_address))
        if username:
            keys.append(_key("username", username))
        self.cache.delete_many([k for key in keys for k in (key, f"{key}:lock")])
        return len(keys)


def retry_after(request: HttpRequest, credentials: dict | None = None) -> int:
    """Whole seconds until the lock on this attempt ends (at least 1)."""
    handler = AxesProxyHandler.get_implementation()
    end = handler.locked_until(request, credentials) if isinstance(handler, LoginPolicyHandler) else None
    return max(1, math.ceil((end or time.time() + settings.LOGIN_LOCKOUT_SECONDS) - time.time()))


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def lockout_message(seconds: int) -> str:
    # Its Chinese is in web's catalogue: the lock-out page (web/templates/web/lockout.html) says the same.
    minutes = _minutes(seconds)
    return _("Too many failed login attempts: try again in %(minutes)s minute(s).") % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The answer to a login refused by the lock (settings.AXES_LOCKOUT_CALLABLE): 429 with Retry-After;
    JSON `{"code": "throttled", "detail"}` under /api/, else the page AXES_LOCKOUT_TEMPLATE names in the
    request's language (context: `detail`, `retry_after` seconds, `retry_minutes`, `retry_at` the moment
    the lock ends), else the message as text."""
    seconds = retry_after(request, credentials)
    detail = lockout_message(seconds)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"code": "throttled", "detail": detail}, status=429)
    elif getattr(settings, "AXES_LOCKOUT_TEMPLATE", None):
        context = {
            "detail": detail,
            "retry_after": seconds,
            "retry_minutes": _minutes(seconds),
            "retry_at": timezone.now() + timedelta(seconds=seconds),
        }
        response = render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=429)
    else:
        response = HttpResponse(detail, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response


class LoginPolicyBackend(AxesStandaloneBackend):
    """django-axes' backend (first in AUTHENTICATION_BACKENDS), for calls that come with a request.

    authenticate() without a request (the test client's login(), a management command) has no client
    to count and comes from no network: it goes straight to the next backend instead of failing.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
