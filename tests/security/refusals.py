"""Bad input refused by name: send one operation as each role that can reach it, with a body and query the
caller builds from that role's own references, and collect what went wrong (a 2xx or a 5xx for anyone;
no 400 naming the field for anybody)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from .conftest import World
from .openapi import Operation, send
from .test_authz_matrix import own_refs, own_url

Request = Callable[[dict[str, int]], tuple[dict[str, Any], dict[str, Any]]]


def refused_by_name(world: World, op: Operation, roles, field: str, what: str, make: Request) -> tuple[list[str], int]:
    """(violations, requests sent) for `op` with the input `make(refs) -> (body, query)`."""
    violations: list[str] = []
    outcomes: list[str] = []
    named = False
    for role in roles:
        url = own_url(world, op, role)
        if url is None:
            continue
        client = APIClient()
        client.force_authenticate(world.users[role])
        body, query = make(own_refs(world, role))
        response = send(client, op, url, body=body, query=query)
        outcomes.append(f"{role} {response.status_code}")
        if response.status_code >= 500 or 200 <= response.status_code < 300:
            violations.append(f"{op.label} {what} as {role}: {response.status_code}")
        elif response.status_code == 400 and field in response.json().get("errors", {}):
            named = True
    if not named:
        violations.append(f"{op.label} {what}: no 400 naming {field} ({', '.join(outcomes)})")
    return violations, len(outcomes)
