"""Webhooks per unit, the Standard Webhooks way, and never to an internal address.

Each message has one id (`webhook-id`) kept on every attempt, a `webhook-timestamp` and a
`webhook-signature` of `v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`; a `whsec_` secret is
base64 (https://www.standardwebhooks.com/). Targets are checked when a webhook is saved and again
when each message is sent: the host is resolved and every address must be public (no loopback,
private, link-local, reserved, multicast or unspecified address, in any spelling: 0x7f000001,
2130706433, ::ffff:127.0.0.1 ...), unless settings.WEBHOOK_ALLOW_PRIVATE_TARGETS. The connection goes
to the address that was checked (no second lookup to rebind), and redirects are not followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

USER_AGENT = "Qinglian-Webhooks/1"


class UnsafeTarget(ValueError):
    """The URL may not be called: bad scheme, unresolvable, or an internal address."""


# --- Signing --------------------------------------------------------------------------------------
def secret_generate() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            pass
    return secret.encode()


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def payload_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


# --- Where we may send ----------------------------------------------------------------------------
def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if mapped is not None and not _address_is_public(str(mapped)):
            return False
    return ip.is_global and not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the connection goes to


def target_check(url: str) -> Target:
    """Resolve the URL's host; refuse it unless every address is public (or private ones are allowed)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(_("Not a valid URL: %(reason)s.") % {"reason": exc}) from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(_("The URL must be http or https."))
    if not parts.hostname:
        raise UnsafeTarget(_("The URL has no host."))
    if parts.username or parts.password:
        raise UnsafeTarget(_("Credentials in the URL are not allowed; sign with the secret instead."))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(_("The host %(host)s does not resolve.") % {"host": parts.hostname}) from exc
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise UnsafeTarget(_("The host %(host)s does not resolve.") % {"host": parts.hostname})
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        internal = [a for a in addresses if not _address_is_public(a)]
        if internal:
            raise UnsafeTarget(
                _("The host resolves to an internal address (%(address)s); refused.") % {"address": internal[0]}
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Response:
    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(*, url: str, secret: str, message_id: str, timestamp: int, body: bytes) -> Response:
    """One signed POST. Any answer other than 2xx (a redirect included) or any network error fails."""
    try:
        target = target_check(url)
    except UnsafeTarget as exc:
        return Response(None, f"refused: {exc}")
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body),
    }
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        answer = conn.getresponse()
        answer.read(64 * 1024)
        return Response(answer.status, "" if 200 <= answer.status < 300 else f"HTTP {answer.status}")
    except (OSError, http.client.HTTPException) as exc:
        return Response(None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        conn.close()
