"""OWASP API1 (object-level authorisation): every route of the OpenAPI schema x every role, aimed at the
ids of another school's and another district's objects. Expected: 0 leaks.

- A detail route answers an out-of-scope id exactly as it answers an id that does not exist (404, or the
  same 403 when the role may not use the route at all; 401 for anonymous), and writes nothing.
- A list route, with or without filters naming foreign objects, returns only rows in scope.
- No response, whatever its status or format (JSON, CSV, XLSX, a streamed file), carries a marker of a
  foreign object: names, titles, messages, file names and file bytes are all marked in the fixture.
- The database is unchanged after the whole matrix.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.test import APIClient

from tracker.inspections.models import CaseRead

from .conftest import ROLES, World
from .openapi import KIND_BY_SEGMENT, REFERENCE_FIELDS, operations, response_text, sample_body, sample_query, send

pytestmark = pytest.mark.django_db

MISSING_ID = 999_999_999
MIN_ROUTES = 20
# Routes anyone may call without logging in.
PUBLIC = {"POST /api/v1/auth/token/"}
# Keys of a response that hold another object's id, beyond the reference fields of request bodies.
ID_KEYS = {
    **{k: KIND_BY_SEGMENT[k] for k in REFERENCE_FIELDS},
    "recipient": "user",
    "evidence": "evidence",
    "appeal": "appeal",
}


def client_for(world: World, role: str) -> APIClient:
    client = APIClient()
    user = world.users[role]
    if user is not None:
        client.force_authenticate(user=user)
    return client


def own_refs(world: World, role: str) -> dict[str, int]:
    """Ids a role may legitimately name in a body or a filter: its cycle, its unit, its own task..."""
    refs = {
        "cycle": world.own_cycle(role).pk,
        "unit": world.own_unit(role).pk,
        "school": world.own_unit(role, "school").pk,
        "authority": world.own_unit(role).pk,
    }
    for kind in ("task", "criterion", "urge", "flag", "inspection", "campaign", "listitem"):
        own = [o for o in world.own(role, kind) if role != "anonymous"]
        if own:
            refs[kind] = own[0].pk
    return refs


def own_url(world: World, op, role: str) -> str | None:
    """The operation's URL, its path id (if any) one of the role's own objects; None when it has none."""
    if not op.is_detail:
        return op.url()
    own = world.own(role, op.resource_kind() or "")
    return op.url(id=own[0].pk) if own else None


def fingerprint() -> dict[str, list[tuple]]:
    """Every row of the domain's tables and the accounts: the matrix must leave them as they were.

    Except the case access log, which reads are meant to write: `reads_recorded` judges it."""
    models = [m for m in apps.get_app_config("tracker").get_models() if m is not CaseRead] + [get_user_model()]
    return {model._meta.label: list(model.objects.order_by("pk").values_list()) for model in models}


def reads_recorded(world: World, since: int) -> tuple[int, list[str]]:
    """The case reads logged after row `since`: (how many, those of a case foreign to its reader)."""
    role_of = {user.pk: role for role, user in world.users.items() if user is not None}
    rows = list(CaseRead.objects.filter(pk__gt=since).values_list("reader_id", "case_id", "via"))
    bad = []
    for reader, case, via in rows:
        role = role_of.get(reader)
        if role is None or ("case", case) in {(o.kind, o.pk) for o in world.foreign(role, "case")}:
            bad.append(f"{role or reader} read case {case} ({via}), which is outside its scope")
        elif role.startswith("school"):
            bad.append(f"{role} read case {case} ({via}): schools read no case")
    return len(rows), bad


def _last_read() -> int:
    return CaseRead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _ids(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict) and isinstance(value.get("id"), int):
        return [value["id"]]
    if isinstance(value, list):
        return [i for v in value for i in _ids(v)]
    return []


def _walk(data: Any, found: list[tuple[str, int]]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ID_KEYS:
                found.extend((ID_KEYS[key], i) for i in _ids(value))
            _walk(value, found)
    elif isinstance(data, list):
        for item in data:
            _walk(item, found)


def leaks(world: World, role: str, op, response) -> list[str]:
    """What of another school or district this response reveals (empty when nothing)."""
    text = response_text(response)
    lowered = text.lower()
    out = [
        f"marker of {obj.kind} {obj.pk} ({obj.home})"
        for marker, obj in world.foreign_markers(role).items()
        if marker.lower() in lowered
    ]
    if "json" not in response.get("Content-Type", ""):
        return out
    try:
        data = json.loads(response.content)
    except ValueError:
        return out
    foreign = {(o.kind, o.pk) for o in world.foreign(role)}
    found: list[tuple[str, int]] = []
    _walk(data, found)
    kind = op.collection_kind()
    rows = data.get("results") if isinstance(data, dict) else data
    if kind and isinstance(rows, list):
        found.extend((kind, row["id"]) for row in rows if isinstance(row, dict) and isinstance(row.get("id"), int))
    out.extend(f"{k} {pk} in the body" for k, pk in found if (k, pk) in foreign)
    return out


def _normalised(response) -> Any:
    """An error body with numbers removed, to compare the answer for a foreign id with a missing one."""
    try:
        return re.sub(r"\d+", "N", json.dumps(response.json(), sort_keys=True))
    except (ValueError, TypeError):
        return None


def test_detail_routes_answer_foreign_ids_as_if_they_did_not_exist(world: World) -> None:
    ops = operations()
    assert len({op.path for op in ops}) >= MIN_ROUTES, "the schema lists suspiciously few routes"
    detail_ops = [op for op in ops if op.is_detail]
    unmapped = sorted({op.path for op in detail_ops if op.resource_kind() is None})
    assert not unmapped, f"map these routes' ids to a kind in tests/security/openapi.py: {unmapped}"
    before, reads_before = fingerprint(), _last_read()

    violations: list[str] = []
    pairs = requests = 0
    found_somewhere: dict[str, bool] = {}
    for role in ROLES:
        client = client_for(world, role)
        refs = own_refs(world, role)
        for op in detail_ops:
            kind = op.resource_kind()
            foreign = world.foreign(role, kind)
            if not foreign:
                violations.append(f"{op.label}: the fixture has no {kind} foreign to {role}; extend the world")
                continue
            pairs += 1
            body, query = sample_body(op, refs), sample_query(op, refs)
            missing = send(client, op, op.url(id=MISSING_ID), body=body, query=query)
            requests += 1
            for obj in foreign:
                response = send(client, op, op.url(id=obj.pk), body=body, query=query)
                requests += 1
                where = f"{role} {op.label} with {obj.kind} {obj.pk} ({obj.home})"
                if role == "anonymous":
                    if response.status_code != 401:
                        violations.append(f"{where}: {response.status_code}, expected 401")
                    continue
                if response.status_code not in (403, 404):
                    violations.append(f"{where}: {response.status_code}, expected 404")
                elif response.status_code != missing.status_code:
                    violations.append(
                        f"{where}: {response.status_code} but {missing.status_code} for a missing id: "
                        "the answer reveals that the object exists"
                    )
                elif _normalised(response) != _normalised(missing):
                    violations.append(f"{where}: its error body differs from a missing id's")
                violations.extend(f"{where}: leaks {leak}" for leak in leaks(world, role, op, response))
            # Control: with the role's own objects the route does find something (else its 404s prove nothing).
            if op.method == "get" and role != "anonymous":
                for obj in world.own(role, kind):
                    response = send(client, op, op.url(id=obj.pk), query=query)
                    requests += 1
                    assert response.status_code < 500, f"{role} {op.label} {obj.pk}: {response.status_code}"
                    if response.status_code != 404:
                        found_somewhere[op.label] = True
                        break
                found_somewhere.setdefault(op.label, False)

    never = sorted(label for label, found in found_somewhere.items() if not found)
    assert not never, f"these routes found none of any role's own objects, so their 404s prove nothing: {never}"
    print(f"\nauthz matrix, detail routes: {len(detail_ops)} routes, {pairs} (route, role) pairs, {requests} requests")
    assert not violations, f"{len(violations)} violations:\n" + "\n".join(violations[:80])
    assert fingerprint() == before, "a request with a foreign id changed the database"
    reads, bad_reads = reads_recorded(world, reads_before)
    assert reads > 0, "the control requests read cases, and no read was logged"
    assert not bad_reads, "\n".join(bad_reads)


def test_list_routes_return_only_rows_in_scope_even_when_filtered_by_foreign_ids(world: World) -> None:
    ops = operations()
    assert len({op.path for op in ops}) >= MIN_ROUTES, "the schema lists suspiciously few routes"
    list_ops = [op for op in ops if not op.is_detail and op.method == "get"]
    before, reads_before = fingerprint(), _last_read()

    violations: list[str] = []
    pairs = requests = 0
    seen_own: dict[str, set[str]] = {role: set() for role in ROLES}
    for role in ROLES:
        client = client_for(world, role)
        refs = own_refs(world, role)
        own_markers = world.own_markers(role)
        for op in list_ops:
            pairs += 1
            query = sample_query(op, refs)
            documented = {p["name"] for p in op.query_params()}
            variants: list[tuple[str, dict[str, Any]]] = [("no filter", query)]
            # Every documented reference filter pointed at each foreign object of its kind; undocumented
            # ones (a view may read them anyway) at one foreign object each. Anonymous: 401 whatever.
            for name in sorted(documented | set(REFERENCE_FIELDS)) if role != "anonymous" else []:
                kind = KIND_BY_SEGMENT.get(name)
                if kind is None:
                    continue
                targets = world.foreign(role, kind)
                variants.extend(
                    (f"{name}={obj.pk} ({obj.kind} of {obj.home})", {**query, name: obj.pk})
                    for obj in (targets if name in documented else targets[-1:])
                )
            for what, params in variants:
                response = send(client, op, op.url(), query=params)
                requests += 1
                where = f"{role} {op.label} {what}"
                if role == "anonymous" and op.label not in PUBLIC:
                    if response.status_code != 401:
                        violations.append(f"{where}: {response.status_code}, expected 401")
                    continue
                if response.status_code >= 500 or response.status_code in (201, 202, 204):
                    violations.append(f"{where}: {response.status_code}")
                text_leaks = leaks(world, role, op, response)
                violations.extend(f"{where}: leaks {leak}" for leak in text_leaks)
                if response.status_code == 200 and what == "no filter":
                    text = response_text(response).lower()
                    seen_own[role] |= {marker for marker in own_markers if marker.lower() in text}

    # Control: the same responses do show each role its own school's data, so "no foreign rows" means
    # filtering, not empty answers.
    for role in ROLES:
        if role == "anonymous":
            continue
        own_school = world.own_unit(role, "school")
        school_marker = next(o.marker for o in world.objects if o.kind == "unit" and o.pk == own_school.pk)
        assert school_marker in seen_own[role], f"{role} never saw its own school in any list"
    print(f"\nauthz matrix, list routes: {len(list_ops)} routes, {pairs} (route, role) pairs, {requests} requests")
    assert not violations, f"{len(violations)} violations:\n" + "\n".join(violations[:80])
    assert fingerprint() == before, "a list request changed the database"
    reads, bad_reads = reads_recorded(world, reads_before)
    assert reads > 0, "the case lists were read, and no read was logged"
    assert not bad_reads, "\n".join(bad_reads)


def test_collection_writes_refuse_references_to_foreign_objects(world: World, public_dns: None) -> None:
    ops = [op for op in operations() if not op.is_detail and op.method in ("post", "put", "patch")]
    ops = [op for op in ops if op.label not in PUBLIC]
    before = fingerprint()

    violations: list[str] = []
    pairs = requests = 0
    for role in ROLES:
        client = client_for(world, role)
        refs = own_refs(world, role)
        for op in ops:
            fields = [name for name in op.request_properties() if name in REFERENCE_FIELDS]
            if role == "anonymous":
                response = send(client, op, op.url(), body=sample_body(op, refs))
                requests += 1
                pairs += 1
                if response.status_code != 401:
                    violations.append(f"anonymous {op.label}: {response.status_code}, expected 401")
                continue
            if fields:
                pairs += 1
            for name in fields:
                kind = KIND_BY_SEGMENT[name]
                body = sample_body(op, refs)
                missing = send(client, op, op.url(), body={**body, name: MISSING_ID})
                requests += 1
                for obj in world.foreign(role, kind):
                    response = send(client, op, op.url(), body={**body, name: obj.pk})
                    requests += 1
                    where = f"{role} {op.label} {name}={obj.pk} ({obj.kind} of {obj.home})"
                    if not 400 <= response.status_code < 500:
                        violations.append(f"{where}: {response.status_code}, expected a refusal")
                    elif response.status_code != missing.status_code:
                        violations.append(f"{where}: {response.status_code} but {missing.status_code} for a missing id")
                    violations.extend(f"{where}: leaks {leak}" for leak in leaks(world, role, op, response))
    print(f"\nauthz matrix, collection writes: {len(ops)} routes, {pairs} (route, role) pairs, {requests} requests")
    assert not violations, f"{len(violations)} violations:\n" + "\n".join(violations[:80])
    assert fingerprint() == before, "a write naming a foreign object changed the database"


def test_evidence_download_is_served_only_within_scope(world: World) -> None:
    """The file route by hand as well: the bytes themselves, not just the status."""
    own = client_for(world, "school_a").get(f"/api/v1/evidence/{world.evidence['a'].pk}/download/")
    assert own.status_code == 200
    assert b"".join(own.streaming_content).startswith(b"%PDF-")
    for role, letter in (("school_a", "b"), ("school_a", "c"), ("supervisor_d1", "c"), ("supervisor_d2", "a")):
        response = client_for(world, role).get(f"/api/v1/evidence/{world.evidence[letter].pk}/download/")
        assert response.status_code == 404, (role, letter)
        assert not getattr(response, "streaming", False)
    response = client_for(world, "anonymous").get(f"/api/v1/evidence/{world.evidence['a'].pk}/download/")
    assert response.status_code == 401


# --- Existence oracle: a foreign id must read exactly like a missing one, wherever an id goes ----------
def _answer(response) -> tuple[int, Any]:
    return response.status_code, _normalised(response)


def _with_reference(client, op, url, where, name, value, body, query):
    """`op` with the reference `name` (in the query or the body) set to `value`, rolled back after."""
    with transaction.atomic():
        if where == "query":
            response = send(client, op, url, body=body, query={**query, name: value})
        else:
            response = send(client, op, url, body={**body, name: value}, query=query)
        transaction.set_rollback(True)
    return response


def test_references_to_foreign_objects_read_exactly_like_missing_ones(world: World, public_dns: None) -> None:
    """Every reference an operation takes (query parameter or body field), on collection and detail routes:
    the answer for another school's or district's object equals the answer for an id that does not exist,
    status and body, in the caller's language. A different message (or language) would tell that it exists.
    """
    before = fingerprint()
    violations: list[str] = []
    compared = 0
    for language in ("zh-hans", "en"):
        for role in ROLES:
            if role == "anonymous":
                continue
            client = client_for(world, role)
            client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
            refs = own_refs(world, role)
            for op in operations():
                if op.label in PUBLIC:
                    continue
                url = op.url()
                if op.is_detail:
                    own = world.own(role, op.resource_kind() or "")
                    if not own:
                        continue
                    url = op.url(id=own[0].pk)
                documented = {p["name"] for p in op.query_params()}
                places = [("query", name) for name in sorted(documented) if name in REFERENCE_FIELDS]
                if op.method != "get":
                    places += [("body", name) for name in op.request_properties() if name in REFERENCE_FIELDS]
                for where, name in places:
                    kind = KIND_BY_SEGMENT[name]
                    body, query = sample_body(op, refs), sample_query(op, refs)
                    missing = _answer(_with_reference(client, op, url, where, name, MISSING_ID, body, query))
                    for obj in world.foreign(role, kind):
                        response = _with_reference(client, op, url, where, name, obj.pk, body, query)
                        compared += 1
                        where_ = f"[{language}] {role} {op.label} {where} {name}={obj.pk} ({obj.kind} of {obj.home})"
                        if _answer(response) != missing:
                            violations.append(f"{where_}: {_answer(response)} but {missing} for a missing id")
    print(f"\nexistence oracle: {compared} foreign references compared with missing ones")
    assert compared > 100
    assert not violations, f"{len(violations)} violations:\n" + "\n".join(violations[:60])
    assert fingerprint() == before
