"""OWASP API3 (mass assignment): fields a client must not set (school, status, score, reviewer, actors,
times, hashes, ids, privileges) sent in the body of every write operation of the schema.

For each operation a legitimate request (the control) is found first, then sent again with the forbidden
fields added (the attack); each runs in a savepoint that is rolled back. The attack must be refused
(4xx, nothing written) or have exactly the control's effect: no forbidden value is ever stored.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import CriterionFactory, CycleFactory, SchoolFactory, UnitFactory, UserFactory
from tracker import models as m
from tracker.assessment.cycle_services import tasks_materialise
from tracker.assessment.task_services import task_submit
from tracker.inspections.case_services import case_create, case_update

from .conftest import D1_SHARED, D1_STAFF, A, Obj, World
from .openapi import Operation, operations, sample_body, send
from .test_authz_matrix import own_refs

pytestmark = pytest.mark.django_db

CALLERS = ("supervisor_d1", "school_a", "inspector_d1")  # the inspector writes cases
STAMP = "2001-02-03T04:05:06Z"
SENTINEL_HASH = "f" * 64
MIN_EFFECTIVE_SHARE = 0.75  # of write operations, the share that must have a working control request


def forbidden_fields(mallory, mallory_school, mallory_cycle) -> dict[str, Any]:
    """Field -> a value no legitimate request of the test ever produces."""
    return {
        "school": mallory_school.pk,
        "unit": mallory_school.pk,
        "authority": mallory_school.pk,
        "cycle": mallory_cycle.pk,
        "task": 987_654,
        "status": "approved",
        "score": "99.99",
        "late_penalty": "99.99",
        "deductions": ["MALLORY"],
        "has_own_due": True,
        "progress": 99,
        "reviewed_by": mallory.pk,
        "reviewed_at": STAMP,
        "submitted_at": STAMP,
        "submitted_due_at": STAMP,
        "actor": mallory.pk,
        "created_by": mallory.pk,
        "responded_by": mallory.pk,
        "responded_at": STAMP,
        "uploaded_by": mallory.pk,
        "uploaded_at": STAMP,
        "recipient": mallory.pk,
        "read_at": STAMP,
        "severity": "critical",
        "resolved_at": STAMP,
        "escalated_at": STAMP,
        "opened_at": STAMP,
        "activated_at": STAMP,
        "closed_at": STAMP,
        "created_at": STAMP,
        "occurred_at": STAMP,
        "hash": SENTINEL_HASH,
        "prev_hash": SENTINEL_HASH,
        "sha256": SENTINEL_HASH,
        "stored_name": "mallory-stored-name",
        "size": 987_654,
        "id": 987_654,
        "is_superuser": True,
        "is_staff": True,
        "secret": "mallory-secret",
        "evidence_count": 987_654,
        "is_overdue": True,
    }


@pytest.fixture
def arena(world: World, public_dns: None) -> World:
    """The world plus tasks in every state a write needs: submitted ones to approve, a draft cycle..."""
    d = world.d
    # Two more criteria without an evidence minimum: their tasks can be submitted at once.
    for _ in range(2):
        criterion = CriterionFactory(cycle=d.cycle, min_evidence=0)
        tasks_materialise(cycle=d.cycle, criterion=criterion)
        world.objects.append(Obj("criterion", criterion.pk, D1_SHARED))
    for task in m.Task.objects.filter(cycle=d.cycle, school=d.school_a, criterion__min_evidence=0):
        world.objects.append(Obj("task", task.pk, A))
    submitted = m.Task.objects.filter(cycle=d.cycle, school=d.school_a, criterion__min_evidence=0).first()
    task_submit(task=submitted, actor=d.school_a_user)
    draft = CycleFactory(authority=d.bureau)
    CriterionFactory(cycle=draft)
    world.objects.append(Obj("cycle", draft.pk, D1_SHARED))
    # A concluded case not yet published, for the publish route.
    concluded = case_create(
        actor=d.inspector,
        authority=d.bureau,
        type="other",
        occurred_on=date(2026, 2, 1),
        summary="某校违规收费。",
        disposition="责令退还。",
    )
    case_update(actor=d.inspector, case=concluded, changes={"status": "investigating"})
    case_update(actor=d.inspector, case=concluded, changes={"status": "concluded"})
    world.objects.append(Obj("case", concluded.pk, D1_STAFF))
    return world


def snapshot() -> dict[str, dict[Any, dict[str, Any]]]:
    models = list(apps.get_app_config("tracker").get_models()) + [get_user_model(), AuthToken]
    return {model._meta.label: {row["pk"]: row for row in _rows(model)} for model in models}


def _rows(model) -> list[dict[str, Any]]:
    names = [f.attname for f in model._meta.concrete_fields]
    return [{"pk": row[model._meta.pk.attname], **row} for row in model.objects.order_by("pk").values(*names)]


def diff(before, after) -> dict[str, Any]:
    """What a request wrote: per model, the columns changed in existing rows and the rows created."""
    out: dict[str, Any] = {}
    for label, rows in after.items():
        old = before[label]
        changed = {
            (pk, col) for pk, row in rows.items() if pk in old for col, value in row.items() if old[pk][col] != value
        }
        created = [row for pk, row in rows.items() if pk not in old]
        deleted = sorted(pk for pk in old if pk not in rows)
        if changed or created or deleted:
            out[label] = {"changed": changed, "created": created, "deleted": deleted, "rows": rows}
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0).isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).isoformat()
        except ValueError:
            pass
        try:
            return Decimal(value).normalize()
        except InvalidOperation:
            return value
    if isinstance(value, Decimal | float) or (isinstance(value, int) and not isinstance(value, bool)):
        return Decimal(str(value)).normalize()
    return value


def taken(effect: dict[str, Any], control: dict[str, Any], injected: dict[str, Any]) -> list[str]:
    """Forbidden values found in rows the attack wrote that the control did not write the same way."""
    found = []
    for label, change in effect.items():
        rows = [change["rows"][pk] for pk, _ in change["changed"]] + change["created"]
        control_rows = control.get(label, {}).get("rows", {})
        control_created = control.get(label, {}).get("created", [])
        for row in rows:
            for name, value in injected.items():
                for col in (name, f"{name}_id"):
                    if col not in row or _norm(row[col]) != _norm(value):
                        continue
                    legit = row["pk"] in control_rows and _norm(control_rows[row["pk"]][col]) == _norm(value)
                    legit = legit or any(_norm(r[col]) == _norm(value) for r in control_created)
                    if not legit:
                        found.append(f"{label}.{col} = {row[col]!r}")
    return found


def same_shape(effect: dict[str, Any], control: dict[str, Any]) -> bool:
    """The attack wrote the same columns of the same rows, and created as many rows, as the control."""

    def shape(d: dict[str, Any]) -> dict[str, Any]:
        return {
            label: (sorted(c["changed"]), len(c["created"]), c["deleted"])
            for label, c in d.items()
            # Stored names and ids of created rows are random or sequential; the chain head follows events.
        }

    return shape(effect) == shape(control)


def clone(body: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in body.items():
        if isinstance(value, SimpleUploadedFile):
            value.seek(0)
            out[key] = SimpleUploadedFile(value.name, value.read(), content_type=value.content_type)
        else:
            out[key] = copy.deepcopy(value)
    return out


def attempt(client: APIClient, op: Operation, url: str, body: dict[str, Any]):
    """One request in a savepoint that is rolled back: (response, what it wrote)."""
    with transaction.atomic():
        before = snapshot()
        response = send(client, op, url, body=clone(body))
        effect = diff(before, snapshot())
        transaction.set_rollback(True)
    return response, effect


# Bodies of legitimate requests the generic sample does not get right (a change to make, a rule to meet).
LEGITIMATE: dict[str, Any] = {
    "POST /api/v1/me/password/": lambda world, refs: {
        "old_password": "pw-Secret-123",  # tests.factories.UserFactory's
        "new_password": "N3w-passphrase-2026",
    },
    "PATCH /api/v1/me/": lambda world, refs: {"email": "changed@example.org", "language": "en"},
    "POST /api/v1/integrity/campaigns/": lambda world, refs: {
        "authority": world.d.bureau.pk,
        "title": "专项自查",
        "lists": ["negative"],
        "due_at": "2027-06-30",
    },
    "POST /api/v1/integrity/risks/": lambda world, refs: {
        "school": world.d.school_a.pk,
        "item": refs.get("listitem"),
        "post": "class_teacher",
        "level": "low",
        "description": "作业布置与收费",
        "measures": ["公示收费标准"],
    },
}


def bodies(world: World, op: Operation, role: str) -> list[dict[str, Any]]:
    """The bodies to try for a role: the operation's legitimate one first (if listed), then the sample."""
    refs = own_refs(world, role)
    listed = [LEGITIMATE[op.label](world, refs)] if op.label in LEGITIMATE else []
    return [*listed, sample_body(op, refs)]


def candidates(world: World, op: Operation, role: str) -> list[str]:
    if not op.is_detail:
        return [op.url()]
    kind = op.resource_kind()
    return [op.url(id=obj.pk) for obj in world.own(role, kind)][:10]


def test_forbidden_fields_in_write_bodies_are_refused_or_ignored(arena: World) -> None:
    world = arena
    mallory = UserFactory(username="mallory")
    mallory_district = UnitFactory(name="Mallory district")
    mallory_school = SchoolFactory(name="Mallory school", parent=mallory_district)
    mallory_cycle = CycleFactory(authority=mallory_district)
    injected_all = forbidden_fields(mallory, mallory_school, mallory_cycle)

    write_ops = [op for op in operations() if op.method in ("post", "put", "patch")]
    assert len(write_ops) >= 12, f"only {len(write_ops)} write operations in the schema"

    violations: list[str] = []
    effective: list[str] = []
    no_control: list[str] = []
    refused: list[str] = []
    ignored: list[str] = []
    for op in write_ops:
        writable = {name for name, prop in op.request_properties().items() if not prop.get("readOnly")}
        injected = {name: value for name, value in injected_all.items() if name not in writable}
        plan: list[tuple[str, str, dict[str, Any]]] = []
        props = op.request_properties()
        if "username" in props and "password" in props and op.label.endswith("/auth/token/"):
            plan.append(
                ("anonymous", op.url(), {"username": world.users["school_a"].username, "password": "pw-Secret-123"})
            )
        for role in CALLERS:
            plan.extend((role, url, body) for body in bodies(world, op, role) for url in candidates(world, op, role))

        found = False
        for role, url, body in plan:
            client = APIClient()
            if world.users[role] is not None:
                client.force_authenticate(world.users[role])
            response, control = attempt(client, op, url, body)
            if response.status_code >= 500:
                violations.append(f"{op.label} control as {role}: {response.status_code}")
            if not 200 <= response.status_code < 300:
                continue
            found = True
            attack, effect = attempt(client, op, url, {**body, **injected})
            where = f"{op.label} as {role} on {url}"
            if attack.status_code >= 500:
                violations.append(f"{where}: {attack.status_code}")
            elif attack.status_code >= 400:
                refused.append(op.label)
                if effect:
                    violations.append(f"{where}: refused with {attack.status_code} but wrote {sorted(effect)}")
            else:
                ignored.append(op.label)
                violations.extend(f"{where}: took {t}" for t in taken(effect, control, injected))
                if not same_shape(effect, control):
                    violations.append(f"{where}: the attack wrote other columns or rows than the control")
            break
        (effective if found else no_control).append(op.label)
        if not found:
            # No legitimate request found: the attack still may not write anything.
            role, url, body = plan[0]
            client = APIClient()
            client.force_authenticate(world.users[role])
            attack, effect = attempt(client, op, url, {**body, **injected})
            if attack.status_code >= 500 or effect:
                violations.append(
                    f"{op.label}: attack without a control gave {attack.status_code}, wrote {sorted(effect)}"
                )

    print(
        f"\nmass assignment: {len(write_ops)} write operations, {len(effective)} with a working control; "
        f"attacks refused {len(refused)}, accepted with the forbidden fields ignored {len(ignored)} {ignored}; "
        f"no control found for {no_control}"
    )
    assert not violations, "\n".join(violations)
    assert len(effective) >= MIN_EFFECTIVE_SHARE * len(write_ops), f"no working control request for {no_control}"


def test_account_creation_cannot_grant_superuser(arena: World) -> None:
    """The privilege-escalation case by hand: the account is created without the flags, or refused."""
    client = APIClient()
    client.force_authenticate(arena.d.supervisor)
    response = client.post(
        "/api/v1/accounts/",
        {
            "username": "newhead",
            "password": "Vq8-strong-Passphrase",
            "unit": arena.d.school_a.pk,
            "role": "school",
            "is_superuser": True,
            "is_staff": True,
        },
        format="json",
    )
    assert response.status_code in (201, 400)
    user = get_user_model().objects.filter(username="newhead").first()
    if response.status_code == 400:
        assert user is None
        assert set(response.json()["errors"]) == {"is_superuser", "is_staff"}
    else:
        assert user is not None and not user.is_superuser and not user.is_staff


def test_a_school_cannot_move_its_task_to_approved_by_progress(arena: World) -> None:
    task = m.Task.objects.filter(school=arena.d.school_a, status=m.TaskStatus.NOT_STARTED).first()
    client = APIClient()
    client.force_authenticate(arena.d.school_a_user)
    response = client.post(
        f"/api/v1/tasks/{task.pk}/progress/",
        {"progress": 40, "status": "approved", "score": "10", "school": arena.d.school_b.pk},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "score", "school"}
    task.refresh_from_db()
    assert (task.status, task.score, task.progress, task.school_id) == (
        m.TaskStatus.NOT_STARTED,
        None,
        0,
        arena.d.school_a.pk,
    )
