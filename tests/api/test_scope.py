"""Scope for every endpoint x role: out of scope is 404 (as if it did not exist), lists hold own rows only.

The endpoint table below is checked against api/urls.py, so a new route of api/views.py cannot be added
without a scope test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.samples import png_bytes, upload
from tracker import models as m
from tracker.assessment import task_services
from tracker.assessment.evidence_services import evidence_add

pytestmark = pytest.mark.django_db

NO_SUCH_ID = 987654321


@dataclass(frozen=True)
class Endpoint:
    name: str  # the URL name in api/urls.py
    method: str
    path: str  # with {id} for the object
    kind: str | None  # the kind of object {id} names; None for collection endpoints
    body: Any = None


TASK_BODIES = {
    "start": {},
    "progress": {"progress": 10, "note": "x"},
    "submit": {},
    "approve": {"deductions": []},
    "return": {"reason": "redo"},
    "extend": {"due_at": "2026-09-01T00:00:00+08:00", "reason": "flood"},
}

OBJECT_ENDPOINTS = [
    Endpoint("unit-detail", "get", "/api/v1/units/{id}/", "unit"),
    Endpoint("unit-detail", "patch", "/api/v1/units/{id}/", "unit", {"name": "renamed"}),
    Endpoint("cycle-detail", "get", "/api/v1/cycles/{id}/", "cycle"),
    Endpoint("cycle-detail", "patch", "/api/v1/cycles/{id}/", "cycle", {"name": "renamed"}),
    Endpoint("cycle-activate", "post", "/api/v1/cycles/{id}/activate/", "cycle"),
    Endpoint("cycle-close", "post", "/api/v1/cycles/{id}/close/", "cycle"),
    Endpoint("criterion-detail", "get", "/api/v1/criteria/{id}/", "criterion"),
    Endpoint("criterion-detail", "patch", "/api/v1/criteria/{id}/", "criterion", {"title": "renamed"}),
    Endpoint("task-detail", "get", "/api/v1/tasks/{id}/", "task"),
    *[
        Endpoint(f"task-{action}", "post", f"/api/v1/tasks/{{id}}/{action}/", "task", body)
        for action, body in TASK_BODIES.items()
    ],
    Endpoint("task-history", "get", "/api/v1/tasks/{id}/history/", "task"),
    Endpoint("task-evidence", "get", "/api/v1/tasks/{id}/evidence/", "task"),
    Endpoint("task-evidence", "post", "/api/v1/tasks/{id}/evidence/", "task", "FILE"),
    Endpoint("evidence-detail", "get", "/api/v1/evidence/{id}/", "evidence"),
    Endpoint("evidence-detail", "delete", "/api/v1/evidence/{id}/", "evidence"),
    Endpoint("evidence-download", "get", "/api/v1/evidence/{id}/download/", "evidence"),
    Endpoint("event-detail", "get", "/api/v1/events/{id}/", "event"),
]
LIST_ENDPOINTS = {
    "unit-list": "/api/v1/units/",
    "cycle-list": "/api/v1/cycles/",
    "criterion-list": "/api/v1/criteria/",
    "task-list": "/api/v1/tasks/",
    "event-list": "/api/v1/events/",
}
# Routes tested elsewhere in this file by their own tests (no object in the path).
OTHER_ROUTES = {
    "me",
    "me-password",
    "event-verify",
    "account-create",
    "auth-token",
    "unit-list",
    "cycle-list",
    "criterion-list",
}


def request(client, endpoint: Endpoint, object_id: int):
    url = endpoint.path.format(id=object_id)
    if endpoint.body == "FILE":
        return client.post(url, {"file": upload("png")}, format="multipart")
    return getattr(client, endpoint.method)(url, endpoint.body, format="json")


@dataclass
class World:
    d: Any
    objects: dict[str, dict[str, int]]  # owner ("a", "b", "other") -> kind -> id


@pytest.fixture
def world(district, task_a, task_b, task_other) -> World:
    """Each school has a task with evidence and a history; each district a cycle with events."""
    actors = {"a": district.school_a_user, "b": district.school_b_user, "other": district.other_school_user}
    tasks = {"a": task_a, "b": task_b, "other": task_other}
    objects: dict[str, dict[str, int]] = {}
    for owner, task in tasks.items():
        item = evidence_add(task=task, actor=actors[owner], file=upload("png"), filename="p.png", size=len(png_bytes()))
        task_services.task_progress(task=task, actor=actors[owner], progress=20)
        objects[owner] = {
            "task": task.pk,
            "evidence": item.pk,
            "unit": task.school_id,
            "event": m.Event.objects.filter(task=task).latest("id").pk,
        }
        if owner != "b":  # school B shares school A's district cycle and criterion
            objects[owner] |= {"cycle": task.cycle_id, "criterion": task.criterion_id}
    objects["other_authority"] = {
        "unit": district.other_bureau.pk,
        "event": m.Event.objects.get(type="cycle.activated", cycle=district.other_cycle).pk,
    }
    objects["authority"] = {"unit": district.bureau.pk}
    return World(district, objects)


def _user(world: World, role: str):
    return {
        "supervisor": world.d.supervisor,
        "inspector": world.d.inspector,
        "school_a": world.d.school_a_user,
        "other_supervisor": world.d.other_supervisor,
        "other_school": world.d.other_school_user,
    }[role]


# Which owners' objects each role must never reach.
OUT_OF_SCOPE = {
    "supervisor": ["other", "other_authority"],
    "inspector": ["other", "other_authority"],
    "school_a": ["b", "other", "other_authority", "authority"],
    "other_supervisor": ["a", "b", "authority"],
    "other_school": ["a", "b", "authority", "other_authority"],
}
SCHOOL_ROLES = {"school_a", "other_school"}


def test_every_route_of_the_core_api_is_in_the_scope_table():
    from api import auth, views

    covered = {e.name for e in OBJECT_ENDPOINTS} | set(LIST_ENDPOINTS) | OTHER_ROUTES
    names = set()

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name:
                cls = getattr(p.callback, "cls", None)
                if cls is not None and cls.__module__ in (views.__name__, auth.__name__):
                    names.add(p.name)

    walk(get_resolver("api.urls").url_patterns)
    assert names, "no routes found"
    assert names - covered == set()


def _in_scope_id(world: World, owner: str, kind: str) -> int:
    return world.objects[owner].get(kind) or world.objects["a"][kind]


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=lambda e: f"{e.method}-{e.name}")
def test_objects_out_of_scope_are_404_for_every_endpoint_and_role(world, client_for, endpoint):
    events_before = m.Event.objects.count()
    for role, owners in OUT_OF_SCOPE.items():
        client = client_for(_user(world, role))
        # Schools may not read the event log at all: 403 whatever the id (so nothing is revealed either).
        expected = 403 if endpoint.kind == "event" and role in SCHOOL_ROLES else 404
        tried = 0
        for owner in owners:
            object_id = world.objects[owner].get(endpoint.kind)
            if object_id is None:
                continue
            tried += 1
            response = request(client, endpoint, object_id)
            assert response.status_code == expected, (role, owner, object_id, response.content[:300])
            if expected == 404:
                assert response.json()["code"] == "not_found"
        assert tried, role
    # and nothing was changed by any of these requests
    assert m.Event.objects.count() == events_before


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=lambda e: f"{e.method}-{e.name}")
def test_ids_that_do_not_exist_are_404_for_every_endpoint_and_role(world, client_for, superuser, endpoint):
    for role in [*OUT_OF_SCOPE, "superuser"]:
        user = superuser if role == "superuser" else _user(world, role)
        response = request(client_for(user), endpoint, NO_SUCH_ID)
        if endpoint.kind == "event" and role in SCHOOL_ROLES:
            assert response.status_code == 403, role
            continue
        assert response.status_code == 404, (role, response.content[:300])
        assert response.json() == {"code": "not_found", "detail": response.json()["detail"]}


@pytest.mark.parametrize("endpoint", [e for e in OBJECT_ENDPOINTS if e.method == "get"], ids=lambda e: e.name)
def test_reads_in_scope_succeed_for_every_role_that_reaches_the_object(world, client_for, superuser, endpoint):
    cases = [
        (world.d.supervisor, "b"),
        (world.d.inspector, "a"),
        (superuser, "other"),
        (world.d.other_supervisor, "other"),
    ]
    if endpoint.kind != "event":
        cases.append((world.d.school_a_user, "a"))
    for user, owner in cases:
        response = request(client_for(user), endpoint, _in_scope_id(world, owner, endpoint.kind))
        assert response.status_code == 200, (user, owner, response.content[:300])


def test_school_may_not_read_the_event_log(world, client_for):
    client = client_for(world.d.school_a_user)
    assert client.get("/api/v1/events/").status_code == 403
    assert client.get(f"/api/v1/events/{world.objects['a']['event']}/").status_code == 403
    # but its own task's history is open to it
    assert client.get(f"/api/v1/tasks/{world.objects['a']['task']}/history/").status_code == 200


# --- lists hold only own rows ------------------------------------------------------------------
def _ids(client, url: str) -> set[int]:
    response = client.get(url, {"page_size": 500})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(body["results"])
    return {row["id"] for row in body["results"]}


def test_school_lists_hold_only_its_own_rows(world, client_for):
    d, client = world.d, client_for(world.d.school_a_user)
    assert _ids(client, "/api/v1/units/") == {d.school_a.pk}
    assert _ids(client, "/api/v1/cycles/") == {d.cycle.pk}
    assert _ids(client, "/api/v1/criteria/") == {d.criterion.pk}
    assert _ids(client, "/api/v1/tasks/") == {world.objects["a"]["task"]}
    evidence = client.get(f"/api/v1/tasks/{world.objects['a']['task']}/evidence/").json()
    assert {e["id"] for e in evidence} == {world.objects["a"]["evidence"]}


@pytest.mark.parametrize("role", ["supervisor", "inspector"])
def test_authority_lists_hold_only_rows_under_the_authority(world, client_for, role):
    d, client = world.d, client_for(_user(world, role))
    assert _ids(client, "/api/v1/units/") == {d.bureau.pk, d.school_a.pk, d.school_b.pk}
    assert _ids(client, "/api/v1/cycles/") == {d.cycle.pk}
    assert _ids(client, "/api/v1/criteria/") == {d.criterion.pk}
    assert _ids(client, "/api/v1/tasks/") == {world.objects["a"]["task"], world.objects["b"]["task"]}
    events = m.Event.objects.filter(pk__in=_ids(client, "/api/v1/events/"))
    assert events.exists()
    assert not events.filter(school__in=[d.other_school, d.other_bureau]).exists()
    assert not events.filter(cycle=d.other_cycle).exists()
    # every event about this district's schools is there
    mine = m.Event.objects.filter(school__in=[d.school_a, d.school_b]).values_list("id", flat=True)
    assert set(mine) <= set(events.values_list("id", flat=True))


def test_other_district_supervisor_lists_hold_only_its_district(world, client_for):
    d, client = world.d, client_for(world.d.other_supervisor)
    assert _ids(client, "/api/v1/units/") == {d.other_bureau.pk, d.other_school.pk}
    assert _ids(client, "/api/v1/cycles/") == {d.other_cycle.pk}
    assert _ids(client, "/api/v1/tasks/") == {world.objects["other"]["task"]}
    ids = _ids(client, "/api/v1/events/")
    assert not m.Event.objects.filter(pk__in=ids, school__in=[d.school_a, d.school_b]).exists()
    assert not m.Event.objects.filter(pk__in=ids, cycle=d.cycle).exists()


def test_superuser_lists_hold_everything(world, client_for, superuser):
    client = client_for(superuser)
    assert _ids(client, "/api/v1/tasks/") == set(m.Task.objects.values_list("id", flat=True))
    assert _ids(client, "/api/v1/units/") == set(m.Unit.objects.values_list("id", flat=True))
    assert len(_ids(client, "/api/v1/events/")) == m.Event.objects.count()


def test_a_nested_authoritys_supervisor_sees_only_its_subtree(world, client_for):
    from tests.factories import MembershipFactory, SchoolFactory, UnitFactory

    d = world.d
    sub = UnitFactory(name="Sub-bureau", parent=d.bureau)
    sub_school = SchoolFactory(parent=sub)
    sub_supervisor = MembershipFactory(unit=sub, role=m.Role.SUPERVISOR).user
    from tracker.assessment.cycle_services import cycle_activate

    cycle_activate(actor=d.supervisor, cycle=d.cycle)
    client = client_for(sub_supervisor)
    assert _ids(client, "/api/v1/units/") == {sub.pk, sub_school.pk}
    assert {t["school"]["id"] for t in client.get("/api/v1/tasks/").json()["results"]} == {sub_school.pk}
    # the bureau's supervisor reaches the nested school
    assert sub_school.pk in _ids(client_for(d.supervisor), "/api/v1/units/")
    # and the sub-bureau's supervisor cannot reach a sibling school under the bureau
    assert client.get(f"/api/v1/tasks/{world.objects['a']['task']}/").status_code == 404


# --- filters must not become an existence oracle ----------------------------------------------
@pytest.mark.parametrize(
    ("url", "param", "owner_kind"),
    [
        ("/api/v1/tasks/", "school", ("other", "unit")),
        ("/api/v1/tasks/", "cycle", ("other", "cycle")),
        ("/api/v1/tasks/", "criterion", ("other", "criterion")),
        ("/api/v1/criteria/", "cycle", ("other", "cycle")),
        ("/api/v1/cycles/", "authority", ("other_authority", "unit")),
        ("/api/v1/units/", "parent", ("other_authority", "unit")),
        ("/api/v1/events/", "school", ("other", "unit")),
        ("/api/v1/events/", "cycle", ("other", "cycle")),
        ("/api/v1/events/", "task", ("other", "task")),
    ],
)
def test_filtering_on_an_out_of_scope_id_answers_as_for_an_id_that_does_not_exist(
    world, client_for, url, param, owner_kind
):
    client = client_for(world.d.supervisor)
    owner, kind = owner_kind
    foreign = client.get(url, {param: world.objects[owner][kind]})
    missing = client.get(url, {param: NO_SUCH_ID})
    assert foreign.status_code == missing.status_code
    if foreign.status_code == 200:
        assert foreign.json()["results"] == missing.json()["results"] == []
    else:
        assert foreign.status_code == 400
        assert foreign.json()["errors"].keys() == missing.json()["errors"].keys() == {param}
        assert str(world.objects[owner][kind]) not in foreign.content.decode().replace(str(NO_SUCH_ID), "")


@pytest.mark.parametrize(
    ("url", "field", "owner_kind", "body"),
    [
        (
            "/api/v1/cycles/",
            "authority",
            ("other_authority", "unit"),
            {"name": "x", "starts_on": "2026-01-01", "ends_on": "2026-12-31"},
        ),
        ("/api/v1/units/", "parent", ("other_authority", "unit"), {"name": "x", "code": "NEWX", "kind": "school"}),
        (
            "/api/v1/accounts/",
            "unit",
            ("other", "unit"),
            {"username": "newbie", "password": "long-Secret-991", "role": "school"},
        ),
        (
            "/api/v1/criteria/",
            "cycle",
            ("other", "cycle"),
            {"code": "N1", "title": "t", "category": "c", "due_at": "2026-09-01T00:00:00Z", "max_score": "5"},
        ),
    ],
)
def test_writing_with_an_out_of_scope_reference_answers_as_for_an_id_that_does_not_exist(
    world, client_for, url, field, owner_kind, body
):
    client = client_for(world.d.supervisor)
    owner, kind = owner_kind
    foreign = client.post(url, {**body, field: world.objects[owner][kind]}, format="json")
    missing = client.post(url, {**body, field: NO_SUCH_ID}, format="json")
    assert foreign.status_code == missing.status_code == 400
    assert list(foreign.json()["errors"]) == list(missing.json()["errors"]) == [field]
    assert foreign.json()["errors"][field] == [
        message.replace(str(NO_SUCH_ID), str(world.objects[owner][kind])) for message in missing.json()["errors"][field]
    ]


# --- roles that may not act ------------------------------------------------------------------
WRITES = [e for e in OBJECT_ENDPOINTS if e.method != "get"]


@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: f"{e.method}-{e.name}")
def test_inspector_can_write_nothing(world, client_for, endpoint):
    client = client_for(world.d.inspector)
    for owner in ("a", "b"):
        object_id = (
            world.objects["authority"]["unit"] if endpoint.kind == "unit" else _in_scope_id(world, owner, endpoint.kind)
        )
        response = request(client, endpoint, object_id)
        assert response.status_code == 403, (endpoint, response.content[:300])
        assert response.json()["code"] == "permission_denied"


CREATES = {
    "/api/v1/units/": ({"name": "x", "code": "NEWX", "kind": "school"}, "parent", "bureau"),
    "/api/v1/cycles/": ({"name": "x", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}, "authority", "bureau"),
    "/api/v1/criteria/": (
        {"code": "N1", "title": "t", "category": "c", "due_at": "2026-09-01T00:00:00Z", "max_score": "5"},
        "cycle",
        "cycle",
    ),
    "/api/v1/accounts/": ({"username": "newbie", "password": "long-Secret-991", "role": "school"}, "unit", "school_a"),
}


@pytest.mark.parametrize("url", list(CREATES))
@pytest.mark.parametrize("role", ["inspector", "school_a"])
def test_inspector_and_school_cannot_create(world, client_for, url, role):
    body, field, attr = CREATES[url]
    before = m.Event.objects.count()
    response = client_for(_user(world, role)).post(url, {**body, field: getattr(world.d, attr).pk}, format="json")
    assert response.status_code == 403, response.content[:300]
    assert m.Event.objects.count() == before


@pytest.mark.parametrize("action", ["approve", "return", "extend"])
def test_school_cannot_review_or_extend_its_own_task(world, client_for, action):
    task_id = world.objects["a"]["task"]
    response = client_for(world.d.school_a_user).post(
        f"/api/v1/tasks/{task_id}/{action}/", TASK_BODIES[action], format="json"
    )
    assert response.status_code == 403
    assert m.Task.objects.get(pk=task_id).status == m.TaskStatus.IN_PROGRESS


@pytest.mark.parametrize("action", ["start", "progress", "submit"])
def test_supervisor_cannot_do_a_schools_work(world, client_for, action):
    task_id = world.objects["a"]["task"]
    response = client_for(world.d.supervisor).post(
        f"/api/v1/tasks/{task_id}/{action}/", TASK_BODIES[action], format="json"
    )
    assert response.status_code == 403


def test_supervisor_cannot_upload_or_delete_a_schools_evidence(world, client_for):
    client = client_for(world.d.supervisor)
    task_id, evidence_id = world.objects["a"]["task"], world.objects["a"]["evidence"]
    assert (
        client.post(f"/api/v1/tasks/{task_id}/evidence/", {"file": upload("png")}, format="multipart").status_code
        == 403
    )
    assert client.delete(f"/api/v1/evidence/{evidence_id}/").status_code == 403
    assert m.Evidence.objects.filter(pk=evidence_id).exists()


@pytest.mark.parametrize(
    ("url", "method"),
    [("/api/v1/me/", "get"), ("/api/v1/tasks/", "get"), ("/api/v1/units/", "get"), ("/api/v1/tasks/1/start/", "post")],
)
def test_anonymous_requests_are_401(client_for, url, method):
    response = getattr(client_for(None), method)(url)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_user_without_memberships_sees_nothing(world, client_for):
    from tests.factories import UserFactory

    client = client_for(UserFactory())
    for url in ("/api/v1/units/", "/api/v1/cycles/", "/api/v1/criteria/", "/api/v1/tasks/"):
        assert _ids(client, url) == set()
    assert client.get(f"/api/v1/tasks/{world.objects['a']['task']}/").status_code == 404
    assert client.get("/api/v1/events/").status_code == 403
