"""Token login, throttled per client address and per username against brute force.

Two counters: one per (address, username), one per address whatever the username tried, so an
attacker cannot spread guesses over many usernames. The address is REMOTE_ADDR, or the entry that
our own proxies appended to X-Forwarded-For (REST_FRAMEWORK["NUM_PROXIES"]): a client cannot reset
its counter by sending a header of its own. Counters live in the cache (Redis in production, shared
by every web worker); if the cache is down, login stays up, unthrottled, and the outage is logged.
"""

from __future__ import annotations

import hashlib
import logging

from drf_spectacular.utils import extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle

logger = logging.getLogger(__name__)


class _FailOpenThrottle(AnonRateThrottle):
    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            logger.warning("login throttle skipped: its cache is unavailable (%s)", exc)
            return True


class LoginThrottle(_FailOpenThrottle):
    """Counts every attempt, authenticated or not, by client address and by the username tried."""

    scope = "login"

    def get_cache_key(self, request, view):
        username = ""
        if isinstance(getattr(request, "data", None), dict):
            username = str(request.data.get("username", ""))[:150]
        # Hashed: the username is user input and may hold characters no cache key should carry.
        tried = hashlib.sha256(username.encode("utf-8", "replace")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": f"{self.get_ident(request)}:{tried}"}


class IpLoginThrottle(_FailOpenThrottle):
    """Counts every attempt from a client address, whatever the username (password spraying)."""

    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": f"{self.scope}-ip", "ident": self.get_ident(request)}


class TokenView(ObtainAuthToken):
    permission_classes = [AllowAny]
    throttle_classes = [IpLoginThrottle, LoginThrottle]
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    @extend_schema(
        request=inline_serializer(
            "TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
