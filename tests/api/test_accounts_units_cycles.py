"""Accounts, /me/, units, cycles and criteria over HTTP: role rules, scope, and an event for every change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from tests.factories import CycleFactory, MembershipFactory, UnitFactory
from tracker import models as m
from tracker.audit.events import events_verify

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

User = get_user_model()
PASSWORD = "long-Secret-991"


def _account(client, **body):
    return client.post("/api/v1/accounts/", {"password": PASSWORD, **body}, format="json")


# --- /me/ ------------------------------------------------------------------------------------------
def test_me_lists_the_callers_memberships(district, client_for):
    response = client_for(district.school_a_user).get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == district.school_a_user.pk
    assert body["username"] == district.school_a_user.username
    assert body["memberships"] == [
        {"unit": {"id": district.school_a.pk, "name": "School A", "kind": "school"}, "role": "school"}
    ]


def test_me_of_a_person_with_two_roles_lists_both(district, client_for):
    MembershipFactory(user=district.supervisor, unit=district.other_bureau, role=m.Role.INSPECTOR)
    body = client_for(district.supervisor).get("/api/v1/me/").json()
    assert {(ms["unit"]["id"], ms["role"]) for ms in body["memberships"]} == {
        (district.bureau.pk, "supervisor"),
        (district.other_bureau.pk, "inspector"),
    }


def test_me_without_authentication_is_401(client_for):
    assert client_for(None).get("/api/v1/me/").status_code == 401


def test_token_login_then_me(district, client_for):
    from rest_framework.test import APIClient

    client = APIClient()
    bad = client.post(
        "/api/v1/auth/token/", {"username": district.supervisor.username, "password": "nope"}, format="json"
    )
    assert bad.status_code == 400
    response = client.post(
        "/api/v1/auth/token/", {"username": district.supervisor.username, "password": "pw-Secret-123"}, format="json"
    )
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/me/").json()["username"] == district.supervisor.username


# --- POST /accounts/ ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "unit_attr"),
    [("school", "school_a"), ("school", "school_b"), ("supervisor", "bureau"), ("inspector", "bureau")],
)
def test_supervisor_creates_accounts_for_units_in_scope(district, client_for, role, unit_attr):
    unit = getattr(district, unit_attr)
    response = _account(client_for(district.supervisor), username=f"new_{role}", unit=unit.pk, role=role)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {"id": body["id"], "username": f"new_{role}", "unit": unit.pk, "role": role}
    user = User.objects.get(pk=body["id"])
    assert user.check_password(PASSWORD)
    assert not user.is_superuser and not user.is_staff
    assert m.Membership.objects.filter(user=user, unit=unit, role=role).exists()
    event = m.Event.objects.get(type="account.created")
    assert event.actor == district.supervisor
    assert event.data == {"username": f"new_{role}", "unit": unit.pk, "role": role}
    assert "password" not in str(event.data).lower()


def test_the_new_account_can_log_in_and_sees_its_scope(district, client_for):
    _account(client_for(district.supervisor), username="teacher", unit=district.school_b.pk, role="school")
    from rest_framework.test import APIClient

    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "teacher", "password": PASSWORD}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")
    schools = {t["school"]["id"] for t in client.get("/api/v1/tasks/").json()["results"]}
    assert schools == {district.school_b.pk}


@pytest.mark.parametrize(
    ("role", "unit_attr"),
    [("school", "bureau"), ("supervisor", "school_a"), ("inspector", "school_b")],
)
def test_role_needs_the_matching_unit_kind(district, client_for, role, unit_attr):
    response = _account(client_for(district.supervisor), username="x1", unit=getattr(district, unit_attr).pk, role=role)
    assert response.status_code == 400
    assert "unit" in response.json()["errors"]
    assert not User.objects.filter(username="x1").exists()


def test_supervisor_cannot_create_accounts_outside_scope(district, client_for):
    for unit in (district.other_school, district.other_bureau):
        role = "school" if unit.kind == "school" else "supervisor"
        response = _account(client_for(district.supervisor), username="intruder", unit=unit.pk, role=role)
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["unit"]
    assert not User.objects.filter(username="intruder").exists()


def test_a_supervisor_of_a_nested_authority_cannot_create_accounts_above_it(district, client_for):
    sub = UnitFactory(parent=district.bureau)
    sub_supervisor = MembershipFactory(unit=sub, role=m.Role.SUPERVISOR).user
    response = _account(client_for(sub_supervisor), username="climber", unit=district.bureau.pk, role="supervisor")
    assert response.status_code == 400
    assert not User.objects.filter(username="climber").exists()


@pytest.mark.parametrize("who", ["inspector", "school_a_user"])
def test_inspector_and_school_cannot_create_accounts(district, client_for, who):
    response = _account(client_for(getattr(district, who)), username="x2", unit=district.school_a.pk, role="school")
    assert response.status_code == 403
    assert not User.objects.filter(username="x2").exists()


def test_superuser_creates_accounts_anywhere(district, client_for, superuser):
    response = _account(client_for(superuser), username="anywhere", unit=district.other_school.pk, role="school")
    assert response.status_code == 201


def test_a_taken_username_is_400(district, client_for):
    response = _account(
        client_for(district.supervisor),
        username=district.school_a_user.username,
        unit=district.school_a.pk,
        role="school",
    )
    assert response.status_code == 400
    assert "username" in response.json()["errors"]


# --- units -----------------------------------------------------------------------------------------
def test_supervisor_creates_a_school_under_its_authority_and_it_is_recorded(district, client_for):
    response = client_for(district.supervisor).post(
        "/api/v1/units/",
        {"name": "No. 3 Middle School", "code": "PT-M3", "kind": "school", "parent": district.bureau.pk},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "No. 3 Middle School",
        "code": "PT-M3",
        "kind": "school",
        "parent": district.bureau.pk,
    }
    event = m.Event.objects.get(type="unit.created")
    assert (event.subject_type, event.subject_id, event.actor) == ("unit", str(body["id"]), district.supervisor)
    # and the bureau's people can see it
    assert client_for(district.inspector).get(f"/api/v1/units/{body['id']}/").status_code == 200


def test_a_supervisor_must_place_a_new_unit_under_an_authority_in_scope(district, client_for):
    client = client_for(district.supervisor)
    no_parent = client.post("/api/v1/units/", {"name": "Floating", "code": "FL", "kind": "authority"}, format="json")
    assert no_parent.status_code == 400
    assert "parent" in no_parent.json()["errors"]


def test_supervisor_renames_and_moves_a_unit_with_events(district, client_for):
    sub = UnitFactory(parent=district.bureau)
    client = client_for(district.supervisor)
    response = client.patch(
        f"/api/v1/units/{district.school_b.pk}/", {"name": "School B (new)", "parent": sub.pk}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["parent"]) == ("School B (new)", sub.pk)
    event = m.Event.objects.get(type="unit.updated")
    assert event.data == {"changed": {"name": "School B (new)", "parent": sub.pk}}


def test_a_supervisor_cannot_move_a_unit_out_of_its_scope(district, client_for):
    response = client_for(district.supervisor).patch(
        f"/api/v1/units/{district.school_b.pk}/", {"parent": district.other_bureau.pk}, format="json"
    )
    assert response.status_code == 400
    district.school_b.refresh_from_db()
    assert district.school_b.parent_id == district.bureau.pk


def test_a_supervisor_cannot_edit_its_own_authority_into_a_loop(district, client_for):
    sub = UnitFactory(parent=district.bureau)
    response = client_for(district.supervisor).patch(
        f"/api/v1/units/{district.bureau.pk}/", {"parent": sub.pk}, format="json"
    )
    assert response.status_code == 400
    assert "parent" in response.json()["errors"]


def test_a_patch_without_changes_records_no_event(district, client_for):
    before = m.Event.objects.count()
    response = client_for(district.supervisor).patch(
        f"/api/v1/units/{district.school_a.pk}/", {"name": "School A"}, format="json"
    )
    assert response.status_code == 200
    assert m.Event.objects.count() == before


def test_units_cannot_be_deleted_or_replaced_over_http(district, client_for):
    client = client_for(district.supervisor)
    assert client.delete(f"/api/v1/units/{district.school_a.pk}/").status_code == 405
    assert client.put(f"/api/v1/units/{district.school_a.pk}/", {"name": "x"}, format="json").status_code == 405


def test_units_can_be_filtered_by_kind_and_parent(district, client_for):
    client = client_for(district.supervisor)
    schools = client.get("/api/v1/units/", {"kind": "school"}).json()["results"]
    assert {u["id"] for u in schools} == {district.school_a.pk, district.school_b.pk}
    children = client.get("/api/v1/units/", {"parent": district.bureau.pk}).json()["results"]
    assert {u["id"] for u in children} == {district.school_a.pk, district.school_b.pk}


# --- cycles --------------------------------------------------------------------------------------
def test_supervisor_creates_a_cycle_in_draft_with_an_event(district, client_for):
    response = client_for(district.supervisor).post(
        "/api/v1/cycles/",
        {
            "name": "2027 clean-school assessment",
            "authority": district.bureau.pk,
            "starts_on": "2027-01-01",
            "ends_on": "2027-12-31",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("name", "authority", "starts_on", "ends_on", "status")} == {
        "name": "2027 clean-school assessment",
        "authority": district.bureau.pk,
        "starts_on": "2027-01-01",
        "ends_on": "2027-12-31",
        "status": "draft",
    }
    event = m.Event.objects.get(type="cycle.created")
    assert (event.cycle_id, event.actor) == (body["id"], district.supervisor)


def test_a_cycle_belongs_to_an_authority_not_a_school(district, client_for):
    response = client_for(district.supervisor).post(
        "/api/v1/cycles/",
        {"name": "x", "authority": district.school_a.pk, "starts_on": "2027-01-01", "ends_on": "2027-12-31"},
        format="json",
    )
    assert response.status_code == 400
    assert "authority" in response.json()["errors"]


def test_supervisor_edits_a_cycle_with_an_event_but_not_its_status_or_authority(district, client_for):
    client = client_for(district.supervisor)
    response = client.patch(
        f"/api/v1/cycles/{district.cycle.pk}/", {"name": "Renamed", "critical_days_overdue": 5}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["critical_days_overdue"]) == ("Renamed", 5)
    assert m.Event.objects.get(type="cycle.updated").data == {
        "changed": {"name": "Renamed", "critical_days_overdue": 5}
    }
    for field, value in (
        ("status", "closed"),
        ("authority", district.bureau.pk),
        ("activated_at", "2026-01-01T00:00:00Z"),
    ):
        refused = client.patch(f"/api/v1/cycles/{district.cycle.pk}/", {field: value}, format="json")
        assert refused.status_code == 400
        assert list(refused.json()["errors"]) == [field]
    district.cycle.refresh_from_db()
    assert district.cycle.status == m.CycleStatus.ACTIVE


def test_a_school_sees_its_districts_cycles_and_cannot_edit_them(district, client_for):
    client = client_for(district.school_a_user)
    assert client.get(f"/api/v1/cycles/{district.cycle.pk}/").status_code == 200
    assert client.patch(f"/api/v1/cycles/{district.cycle.pk}/", {"name": "x"}, format="json").status_code == 403
    assert client.post(f"/api/v1/cycles/{district.cycle.pk}/close/").status_code == 403


def test_a_nested_authority_sees_the_cycle_of_the_authority_above_but_cannot_run_it(district, client_for):
    sub = UnitFactory(parent=district.bureau)
    sub_supervisor = MembershipFactory(unit=sub, role=m.Role.SUPERVISOR).user
    client = client_for(sub_supervisor)
    assert client.get(f"/api/v1/cycles/{district.cycle.pk}/").status_code == 200
    assert client.post(f"/api/v1/cycles/{district.cycle.pk}/close/").status_code == 403
    assert client.patch(f"/api/v1/cycles/{district.cycle.pk}/", {"name": "x"}, format="json").status_code == 403


def test_cycles_can_be_filtered_by_status(district, client_for):
    draft = CycleFactory(authority=district.bureau)
    client = client_for(district.supervisor)
    assert [c["id"] for c in client.get("/api/v1/cycles/", {"status": "draft"}).json()["results"]] == [draft.pk]
    assert [c["id"] for c in client.get("/api/v1/cycles/", {"status": "active"}).json()["results"]] == [
        district.cycle.pk
    ]


# --- criteria -------------------------------------------------------------------------------------
CRITERION = {
    "code": "B2",
    "title": "Integrity education in class",
    "category": "education and culture",
    "requirement": "Two lessons per term, with lesson plans.",
    "due_at": "2026-09-30T17:00:00+08:00",
    "max_score": "8",
    "min_evidence": 2,
    "deduction_rules": [{"code": "B2-1", "description": "no plans", "points": "3"}],
    "late_penalty_per_day": "0.5",
    "late_penalty_cap": "2",
}


def test_supervisor_adds_a_criterion_to_the_active_cycle_and_every_school_gets_a_task(district, client_for):
    response = client_for(district.supervisor).post(
        "/api/v1/criteria/", {**CRITERION, "cycle": district.cycle.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["deduction_rules"] == [{"code": "B2-1", "description": "no plans", "points": "3.00"}]
    assert (body["max_score"], body["min_evidence"], body["late_penalty_per_day"]) == ("8.00", 2, "0.50")
    tasks = m.Task.objects.filter(criterion_id=body["id"])
    assert {t.school_id for t in tasks} == {district.school_a.pk, district.school_b.pk}
    assert all(t.due_at == datetime(2026, 9, 30, 9, 0, tzinfo=UTC) for t in tasks)
    assert m.Event.objects.get(type="criterion.created").data["tasks_created"] == 2


def test_a_criterion_code_is_unique_within_its_cycle(district, client_for):
    response = client_for(district.supervisor).post(
        "/api/v1/criteria/", {**CRITERION, "code": district.criterion.code, "cycle": district.cycle.pk}, format="json"
    )
    assert response.status_code == 400
    assert "code" in response.json()["errors"]


def test_criterion_due_edit_over_http_moves_tasks_without_their_own_due(district, client_for, task_a, task_b):
    client = client_for(district.supervisor)
    client.post(
        f"/api/v1/tasks/{task_b.pk}/extend/", {"due_at": "2026-07-20T00:00:00Z", "reason": "flood"}, format="json"
    )
    response = client.patch(
        f"/api/v1/criteria/{district.criterion.pk}/", {"due_at": "2026-08-31T00:00:00Z"}, format="json"
    )
    assert response.status_code == 200
    assert client.get(f"/api/v1/tasks/{task_a.pk}/").json()["due_at"] == "2026-08-31T08:00:00+08:00"
    assert client.get(f"/api/v1/tasks/{task_b.pk}/").json()["due_at"] == "2026-07-20T08:00:00+08:00"
    assert m.Event.objects.get(type="criterion.updated").data["tasks_moved"] == 1


def test_criterion_deduction_rules_edit_is_recorded(district, client_for):
    rules = [{"code": "Z1", "description": "new rule", "points": "1.5"}]
    response = client_for(district.supervisor).patch(
        f"/api/v1/criteria/{district.criterion.pk}/", {"deduction_rules": rules}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["deduction_rules"] == [{"code": "Z1", "description": "new rule", "points": "1.50"}]
    assert m.Event.objects.get(type="criterion.updated").data["changed"]["deduction_rules"] == [
        {"code": "Z1", "description": "new rule", "points": "1.50"}
    ]


def test_criteria_list_filters_by_cycle_and_school_sees_its_districts(district, client_for):
    response = client_for(district.school_a_user).get("/api/v1/criteria/", {"cycle": district.cycle.pk})
    assert [c["id"] for c in response.json()["results"]] == [district.criterion.pk]
    assert (
        client_for(district.school_a_user)
        .patch(f"/api/v1/criteria/{district.criterion.pk}/", {"title": "x"}, format="json")
        .status_code
        == 403
    )


def test_criteria_cannot_be_added_to_a_closed_cycle(district, client_for):
    client = client_for(district.supervisor)
    client.post(f"/api/v1/cycles/{district.cycle.pk}/close/")
    response = client.post("/api/v1/criteria/", {**CRITERION, "cycle": district.cycle.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"


def test_a_whole_setup_session_leaves_a_verifiable_chain(district, client_for):
    client = client_for(district.supervisor)
    cycle = client.post(
        "/api/v1/cycles/",
        {"name": "2027", "authority": district.bureau.pk, "starts_on": "2027-01-01", "ends_on": "2027-12-31"},
        format="json",
    ).json()
    client.post("/api/v1/criteria/", {**CRITERION, "cycle": cycle["id"]}, format="json")
    client.post(f"/api/v1/cycles/{cycle['id']}/activate/")
    _account(client, username="t1", unit=district.school_a.pk, role="school")
    types = list(m.Event.objects.filter(actor=district.supervisor).order_by("id").values_list("type", flat=True))
    assert types[-4:] == ["cycle.created", "criterion.created", "cycle.activated", "account.created"]
    assert events_verify().ok
    # and the event log shows them to the bureau
    listed = client.get("/api/v1/events/", {"cycle": cycle["id"]}).json()["results"]
    assert [e["type"] for e in listed] == ["cycle.created", "criterion.created", "cycle.activated"]


def test_account_creation_at_an_authority_is_in_that_authoritys_event_log_only(district, client_for):
    created = _account(client_for(district.supervisor), username="auditor", unit=district.bureau.pk, role="inspector")
    assert created.status_code == 201
    event = m.Event.objects.get(type="account.created")
    own = {
        e["id"]
        for e in client_for(district.inspector).get("/api/v1/events/", {"type": "account.created"}).json()["results"]
    }
    other = {
        e["id"]
        for e in client_for(district.other_supervisor)
        .get("/api/v1/events/", {"type": "account.created"})
        .json()["results"]
    }
    assert event.pk in own
    assert event.pk not in other


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_of_one_unit_code_give_one_unit_and_one_clear_refusal(district):
    import threading

    from django.db import connection

    from tracker.errors import ValidationFailed
    from tracker.org.services import unit_create

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(n: int) -> None:
        try:
            barrier.wait()
            unit_create(actor=district.supervisor, name=f"twin {n}", code="TWIN", kind="school", parent=district.bureau)
            outcomes.append("created")
        except ValidationFailed as exc:
            outcomes.append(f"refused:{exc.extra['field']}")
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "refused:code"]
    assert m.Unit.objects.filter(code="TWIN").count() == 1
