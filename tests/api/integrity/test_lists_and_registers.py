"""The lists, risk points and registers over HTTP: who may write what, scope (another school's objects
read as missing), the contract's refusals in its order (404, 403, 400, 409), and the register's counts."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.integrity_support import PROCESS_MAP, risk_body
from tracker import models as m

pytestmark = pytest.mark.django_db
ITEMS = "/api/v1/integrity/items/"
RISKS = "/api/v1/integrity/risks/"
REGISTERS = "/api/v1/integrity/registers/"


def register_url(school, action: str = "") -> str:
    return f"{REGISTERS}{school.pk}/" + (f"{action}/" if action else "")


# --- list items -----------------------------------------------------------------------------------------
def test_a_supervisor_publishes_authority_items_and_a_school_adds_its_own(integrity, client_for):
    d = integrity.d
    body = {"unit": d.bureau.pk, "list": "negative", "code": "N02", "title": "违规补课", "basis": "省教育厅负面清单"}
    created = client_for(d.supervisor).post(ITEMS, body, format="json")
    assert created.status_code == 201, created.json()
    assert {k: created.json()[k] for k in ("unit", "list", "code", "title")} == {
        "unit": d.bureau.pk,
        "list": "negative",
        "code": "N02",
        "title": "违规补课",
    }
    own = client_for(d.school_a_user).post(ITEMS, {**body, "unit": d.school_a.pk, "code": "A09"}, format="json")
    assert own.status_code == 201
    assert m.Event.objects.filter(type="list_item.created").count() == 2


@pytest.mark.parametrize(
    ("who", "unit", "status"),
    [
        ("school_a_user", "bureau", 403),  # its authority's items are the supervisors'
        ("inspector", "bureau", 403),  # inspectors never edit
        ("supervisor", "school_a", 403),  # a school's own items are the school's
        ("supervisor", "other_bureau", 400),  # out of scope: reads as a unit that does not exist
        ("school_a_user", "school_b", 400),
    ],
)
def test_items_are_written_only_by_their_owners(integrity, client_for, who, unit, status):
    d = integrity.d
    body = {"unit": getattr(d, unit).pk, "list": "micro_power", "code": "Z1", "title": "事项"}
    answer = client_for(getattr(d, who)).post(ITEMS, body, format="json")
    assert answer.status_code == status, answer.json()
    assert not m.ListItem.objects.filter(code="Z1").exists()


def test_a_school_sees_its_authoritys_items_and_its_own_but_not_another_schools(integrity, client_for):
    d = integrity.d
    codes = {row["code"] for row in client_for(d.school_a_user).get(ITEMS, {"page_size": 500}).json()["results"]}
    assert codes == {"M01", "M02", "N01", "A01"}
    codes_b = {row["code"] for row in client_for(d.school_b_user).get(ITEMS).json()["results"]}
    assert codes_b == {"M01", "M02", "N01"}
    assert client_for(d.school_b_user).get(f"{ITEMS}{integrity.own_a.pk}/").status_code == 404
    assert (
        client_for(d.school_b_user).patch(f"{ITEMS}{integrity.own_a.pk}/", {"title": "x"}, format="json").status_code
        == 404
    )
    # The supervisor sees the district's items and its schools' own; filters narrow by list and unit.
    sup = client_for(d.supervisor)
    assert {r["code"] for r in sup.get(ITEMS, {"list": "negative"}).json()["results"]} == {"N01"}
    assert {r["code"] for r in sup.get(ITEMS, {"unit": d.school_a.pk}).json()["results"]} == {"A01"}
    assert sup.get(ITEMS, {"unit": d.other_bureau.pk}).status_code == 400


def test_editing_an_item_keeps_codes_unique_and_never_moves_it(integrity, client_for):
    sup = client_for(integrity.d.supervisor)
    url = f"{ITEMS}{integrity.m2.pk}/"
    assert sup.patch(url, {"code": "M01"}, format="json").status_code == 400
    assert sup.patch(url, {"unit": integrity.d.school_a.pk}, format="json").status_code == 400
    assert sup.patch(url, {"list": "negative"}, format="json").status_code == 400
    answer = sup.patch(url, {"title": "大宗物资采购"}, format="json")
    assert (answer.status_code, answer.json()["title"]) == (200, "大宗物资采购")
    assert m.Event.objects.get(type="list_item.updated").data["changed"] == {"title": "大宗物资采购"}


# --- risk points --------------------------------------------------------------------------------------------
def test_a_school_screens_a_risk_point_of_a_post(integrity, client_for):
    d = integrity.d
    answer = client_for(d.school_a_user).post(RISKS, risk_body(integrity.m1), format="json")
    assert answer.status_code == 201, answer.json()
    risk = answer.json()
    assert {k: risk[k] for k in ("school", "item", "item_code", "list", "post", "level", "year")} == {
        "school": d.school_a.pk,
        "item": integrity.m1.pk,
        "item_code": "M01",
        "list": "micro_power",
        "post": "leader",
        "level": "high",
        "year": timezone.localdate().year,  # the register of this year
    }
    assert risk["process_map"] == PROCESS_MAP and risk["measures"] == ["集体决策", "结果公示"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"process_map": []}, "process_map_required"),
        ({"process_map": [{"step": "审批", "role": "校长", "control": False}] * 3}, "process_map_required"),
        ({"measures": []}, "invalid"),
        ({"level": "extreme"}, "invalid"),
        ({"post": "janitor"}, "invalid"),
        ({"process_map": [{"step": "审批", "role": "校长", "control": True, "extra": 1}]}, "invalid"),
        ({"process_map": "not a list"}, "invalid"),
    ],
)
def test_a_bad_risk_point_is_a_400_naming_the_problem(integrity, client_for, changes, code):
    answer = client_for(integrity.d.school_a_user).post(RISKS, risk_body(integrity.m1, **changes), format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert not m.RiskPoint.objects.exists()


def test_risk_points_of_another_school_are_out_of_sight(integrity, client_for):
    d = integrity.d
    risk_id = client_for(d.school_b_user).post(RISKS, risk_body(integrity.m1), format="json").json()["id"]
    a = client_for(d.school_a_user)
    assert a.get(f"{RISKS}{risk_id}/").status_code == 404
    assert a.patch(f"{RISKS}{risk_id}/", {"description": "x"}, format="json").status_code == 404
    assert a.delete(f"{RISKS}{risk_id}/").status_code == 404
    assert a.get(RISKS).json()["count"] == 0
    assert a.post(RISKS, {**risk_body(integrity.m1), "school": d.school_b.pk}, format="json").status_code == 400
    assert a.post(RISKS, risk_body(integrity.other_item), format="json").status_code == 400
    assert client_for(d.other_supervisor).get(f"{RISKS}{risk_id}/").status_code == 404
    # Inspectors read; supervisors read; neither writes a school's register.
    assert client_for(d.inspector).get(f"{RISKS}{risk_id}/").status_code == 200
    assert client_for(d.supervisor).patch(f"{RISKS}{risk_id}/", {"description": "x"}, format="json").status_code == 403
    assert (
        client_for(d.supervisor)
        .post(RISKS, {**risk_body(integrity.m1), "school": d.school_b.pk}, format="json")
        .status_code
        == 403
    )


# --- registers --------------------------------------------------------------------------------------------
def test_the_register_review_loop_over_http_in_the_contracts_order(integrity, client_for):
    d = integrity.d
    school, supervisor = client_for(d.school_a_user), client_for(d.supervisor)
    empty = school.post(register_url(d.school_a, "submit"))
    assert (empty.status_code, empty.json()["code"]) == (409, "register_empty")

    risk_id = school.post(RISKS, risk_body(integrity.m1), format="json").json()["id"]
    assert supervisor.post(register_url(d.school_a, "submit")).status_code == 403
    assert school.post(register_url(d.school_a, "approve")).status_code == 403
    assert client_for(d.inspector).post(register_url(d.school_a, "approve")).status_code == 403
    assert client_for(d.school_b_user).post(register_url(d.school_a, "submit")).status_code == 404
    draft = supervisor.post(register_url(d.school_a, "approve"))
    assert (draft.status_code, draft.json()["code"], draft.json()["allowed"]) == (409, "invalid_transition", [])

    submitted = school.post(register_url(d.school_a, "submit"))
    assert (submitted.status_code, submitted.json()["status"]) == (200, "submitted")
    locked = school.patch(f"{RISKS}{risk_id}/", {"description": "改"}, format="json")
    assert (locked.status_code, locked.json()["code"]) == (409, "register_locked")
    assert school.post(RISKS, risk_body(integrity.m2), format="json").status_code == 409
    assert school.delete(f"{RISKS}{risk_id}/").status_code == 409

    assert supervisor.post(register_url(d.school_a, "return"), {}, format="json").status_code == 400
    returned = supervisor.post(register_url(d.school_a, "return"), {"reason": "请补充班主任岗位风险"}, format="json")
    assert (returned.json()["status"], returned.json()["return_reason"]) == ("returned", "请补充班主任岗位风险")
    assert (
        school.post(
            RISKS, risk_body(integrity.m2, post="class_teacher", level="low", process_map=[]), format="json"
        ).status_code
        == 201
    )
    school.post(register_url(d.school_a, "submit"))
    approved = supervisor.post(register_url(d.school_a, "approve"))
    assert approved.json()["status"] == "approved"
    assert [e.type for e in m.Event.objects.filter(subject_type="register").order_by("id")] == [
        "register.submitted",
        "register.returned",
        "register.submitted",
        "register.approved",
    ]


def test_registers_list_every_school_in_scope_with_its_counts(integrity, client_for):
    d = integrity.d
    school = client_for(d.school_a_user)
    school.post(RISKS, risk_body(integrity.m1), format="json")
    school.post(RISKS, risk_body(integrity.m1, post="middle_manager", level="medium", process_map=[]), format="json")
    school.post(RISKS, risk_body(integrity.own_a, post="subject_teacher", level="low", process_map=[]), format="json")

    rows = client_for(d.supervisor).get(REGISTERS).json()["results"]
    by_school = {row["school"]: row for row in rows}
    assert set(by_school) == {d.school_a.pk, d.school_b.pk}
    a = by_school[d.school_a.pk]
    assert {k: a[k] for k in ("status", "items", "risk_points", "by_level", "high_with_process_map")} == {
        "status": "draft",
        "items": 2,
        "risk_points": 3,
        "by_level": {"low": 1, "medium": 1, "high": 1},
        "high_with_process_map": 1,
    }
    assert a["posts"] == {"leader": 1, "middle_manager": 1, "class_teacher": 0, "subject_teacher": 1, "other": 0}
    assert by_school[d.school_b.pk]["risk_points"] == 0
    # A school sees its own row only; another school's register is 404; another year is empty.
    assert [r["school"] for r in school.get(REGISTERS).json()["results"]] == [d.school_a.pk]
    assert school.get(register_url(d.school_b)).status_code == 404
    assert school.get(register_url(d.school_a), {"year": 2019}).json()["risk_points"] == 0
    assert school.get(register_url(d.school_a), {"year": "last"}).status_code == 400
    assert client_for(d.other_supervisor).get(register_url(d.school_a)).status_code == 404
