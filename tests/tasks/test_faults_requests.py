"""Faults in the middle of a request, on every operation of the API's schema, read at run time: an
endpoint added later (as /me/, /me/password/, /events/verify/ and the integrity and inspections routes
were) is covered without anyone editing a list.

1. **The database gives way mid-request.** A connection of the test's own locks every table (writes
   wait, for a write operation; every query waits, for a read), the request's backend is seen waiting
   in pg_stat_activity, and the test terminates it (`pg_terminate_backend`, what a restart or a
   fail-over does to a session). The answer must be 503 `{"code": "unavailable"}` with Retry-After,
   never a 500, and the database must hold exactly what it held before: nothing half-written.
2. **The broker is down while writes commit.** Redis is stopped; each write operation's legitimate
   request must answer as it would with Redis up (not 5xx, within the fail-fast publish time), and
   each event it recorded must wait in the dispatch table; with Redis back, the relay sends them all.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from tests.security.conftest import World, public_dns, world
from tests.security.openapi import Operation, operations, sample_query, send
from tests.security.test_authz_matrix import own_refs
from tests.security.test_mass_assignment import CALLERS, arena, bodies, candidates, clone, snapshot
from tracker import models as m
from tracker.audit.relay import events_relay

from .conftest import broker_reconnect

pytestmark = [pytest.mark.serial, pytest.mark.faults, pytest.mark.django_db(transaction=True)]
__all__ = ["arena", "public_dns", "world"]  # fixtures

PASSWORD = "pw-Secret-123"  # tests.factories.UserFactory's
NEW_ENDPOINTS = ("/me/", "/me/password/", "/events/verify/", "/integrity/", "/inspections/", "/cases/", "/notices/")
MIN_FAULTED_SHARE = 0.75  # of write operations, the share whose request must reach a write to be faulted


def all_tables() -> str:
    tables = {model._meta.db_table for model in apps.get_models() if model._meta.managed and not model._meta.proxy}
    return ", ".join(sorted(tables))


def _waiting_backend() -> int | None:
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views are a snapshot taken once: read them afresh.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def plan_for(world: World, op: Operation) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(role, url, body, query) of plausible requests for the operation, the legitimate ones first."""
    plan = []
    props = op.request_properties()
    if op.label.endswith("/auth/token/") and "password" in props:
        plan.append(("anonymous", op.url(), {"username": world.users["school_a"].username, "password": PASSWORD}, {}))
    for role in CALLERS:
        query = sample_query(op, own_refs(world, role))
        plan.extend((role, url, body, query) for body in bodies(world, op, role) for url in candidates(world, op, role))
    return plan


def request_in_thread(world: World, op: Operation, role: str, url: str, body, query) -> dict[str, Any]:
    """Start the request in a thread of its own (its own database connection); the result fills in later."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            client = APIClient()
            if world.users[role] is not None:
                client.force_authenticate(world.users[role])
            result["response"] = send(client, op, url, body=clone(body), query=query)
        except Exception as exc:  # noqa: BLE001 - reported by the test: a request must never raise
            result["error"] = exc
        finally:
            connection.close()

    result["thread"] = threading.Thread(target=run)
    result["thread"].start()
    return result


def faulted(world: World, op: Operation, role: str, url: str, body, query, *, mode: str) -> tuple[bool, dict]:
    """Run the request while every table is locked in `mode`; if it waits on a lock, kill its backend.
    (whether it was killed mid-request, the result)."""
    killed = False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {all_tables()} IN {mode} MODE")
        result = request_in_thread(world, op, role, url, body, query)
        deadline = time.monotonic() + 10
        while result["thread"].is_alive() and time.monotonic() < deadline:
            pid = _waiting_backend()
            if pid is not None:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                killed = True
                break
            time.sleep(0.02)
    result["thread"].join(timeout=30)
    assert not result["thread"].is_alive(), f"{op.label}: the request never finished"
    return killed, result


def check_unavailable(where: str, result: dict[str, Any]) -> list[str]:
    if "error" in result:
        return [f"{where}: raised {result['error']!r}"]
    response = result["response"]
    problems = []
    if response.status_code != 503:
        problems.append(f"{where}: {response.status_code}, expected 503")
    elif response.json().get("code") != "unavailable" or not response.get("Retry-After"):
        problems.append(f"{where}: 503 without its code or Retry-After: {response.content[:200]!r}")
    return problems


def test_every_operation_answers_503_and_writes_nothing_when_the_database_gives_way(arena: World) -> None:
    world = arena
    ops = operations()
    writes = [op for op in ops if op.method in ("post", "put", "patch", "delete")]
    reads = [op for op in ops if op.method == "get"]
    before = snapshot()
    problems: list[str] = []
    faulted_writes: list[str] = []
    not_reached: list[str] = []
    faulted_reads = 0

    for op in writes:
        for role, url, body, query in plan_for(world, op):
            killed, result = faulted(world, op, role, url, body, query, mode="EXCLUSIVE")
            where = f"{op.label} as {role} on {url}"
            if killed:
                problems += check_unavailable(where, result)
                faulted_writes.append(op.label)
                break
            # It wrote nothing (every write would have waited): a refusal, never a server error.
            if "error" in result or result["response"].status_code >= 500:
                problems.append(f"{where}: {result.get('error') or result['response'].status_code} before any write")
        else:
            not_reached.append(op.label)

    for op in reads:
        role = next((r for r in CALLERS if candidates(world, op, r)), None)
        if role is None:
            problems.append(f"{op.label}: no object of any role to read")
            continue
        url, query = candidates(world, op, role)[0], sample_query(op, own_refs(world, role))
        killed, result = faulted(world, op, role, url, {}, query, mode="ACCESS EXCLUSIVE")
        if not killed:
            problems.append(f"{op.label}: answered without a query, {result.get('response')}")
            continue
        problems += check_unavailable(f"{op.label} as {role}", result)
        faulted_reads += 1

    # The server is back for the next request, on a fresh connection.
    me = request_in_thread(
        world, next(op for op in reads if op.label.endswith("/me/")), "school_a", "/api/v1/me/", {}, {}
    )
    me["thread"].join(timeout=30)
    print(
        f"\nfaults mid-request: {len(faulted_writes)} of {len(writes)} write operations killed at their first "
        f"write, {faulted_reads} of {len(reads)} reads killed at their first query; not reaching a write: {not_reached}"
    )
    assert not problems, "\n".join(problems[:60])
    assert snapshot() == before, "a request killed mid-way left something behind"
    assert me["response"].status_code == 200
    assert len(faulted_writes) >= MIN_FAULTED_SHARE * len(writes), f"never reached a write: {not_reached}"
    covered = {prefix for prefix in NEW_ENDPOINTS if any(prefix in label for label in faulted_writes)}
    assert covered >= {"/me/", "/me/password/", "/integrity/", "/inspections/", "/cases/"}, covered
    assert any("/events/verify/" in op.label for op in reads)


@pytest.mark.integration
def test_every_write_with_the_broker_down_is_answered_and_its_events_wait_for_the_relay(
    arena: World, broker_view, redis_server
) -> None:
    world = arena
    broker_view.flush()
    m.EventDispatch.objects.filter(done_at__isnull=True).update(done_at=timezone.now())
    redis_server.stop()
    writes = [op for op in operations() if op.method in ("post", "put", "patch", "delete")]
    problems: list[str] = []
    answered: Counter[str] = Counter()
    pending_events: set[int] = set()
    slowest = 0.0

    for op in writes:
        for role, url, body, query in plan_for(world, op):
            last_event = m.Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            client = APIClient()
            if world.users[role] is not None:
                client.force_authenticate(world.users[role])
            started = time.monotonic()
            response = send(client, op, url, body=clone(body), query=query)
            took = time.monotonic() - started
            slowest = max(slowest, took)
            where = f"{op.label} as {role} on {url}"
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code} with the broker down")
            if not 200 <= response.status_code < 300:
                continue
            answered[op.label] += 1
            recorded = list(m.Event.objects.filter(pk__gt=last_event).values_list("pk", flat=True))
            waiting = set(
                m.EventDispatch.objects.filter(event_id__in=recorded, done_at__isnull=True).values_list(
                    "event_id", flat=True
                )
            )
            if waiting != set(recorded):
                problems.append(f"{where}: events {sorted(set(recorded) - waiting)} recorded with no pending dispatch")
            pending_events |= waiting
            if took > 5:
                problems.append(f"{where}: took {took:.1f} s with the broker down")
            break

    # Redis is back: the relay hands every waiting event to the broker, once.
    redis_server.start()
    broker_reconnect()
    relayed = events_relay(now=timezone.now() + timedelta(minutes=2))
    print(
        f"\nbroker down: {len(answered)} of {len(writes)} write operations answered 2xx, {len(pending_events)} events "
        f"waiting, slowest answer {slowest:.2f} s; relayed {relayed} once Redis was back"
    )
    assert not problems, "\n".join(problems[:60])
    assert len(answered) >= MIN_FAULTED_SHARE * len(writes)
    assert any("/integrity/" in label for label in answered) and any("/me/" in label for label in answered)
    assert relayed >= len(pending_events) > 0
    assert broker_view.queued() == relayed
