"""Bad input gets a clear 4xx naming what is wrong, never a 500, on every endpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.samples import upload
from tracker import models as m
from tracker.integrity.campaign_services import campaign_activate, campaign_create
from tracker.integrity.register_services import risk_create

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Write:
    method: str
    path: str  # formatted with the district's ids
    who: str  # attribute of the district fixture, or "anonymous"
    good: dict[str, Any]  # a valid body (so a single change in it makes it invalid)


WRITES = [
    Write(
        "post",
        "/api/v1/units/",
        "supervisor",
        {"name": "New School", "code": "NS1", "kind": "school", "parent": "{bureau}"},
    ),
    Write("patch", "/api/v1/units/{school_a}/", "supervisor", {"name": "Renamed"}),
    Write(
        "post",
        "/api/v1/accounts/",
        "supervisor",
        {"username": "teacher9", "password": "long-Secret-991", "unit": "{school_a}", "role": "school"},
    ),
    Write(
        "post",
        "/api/v1/cycles/",
        "supervisor",
        {"name": "2027", "authority": "{bureau}", "starts_on": "2027-01-01", "ends_on": "2027-12-31"},
    ),
    Write("patch", "/api/v1/cycles/{cycle}/", "supervisor", {"name": "Renamed"}),
    Write("post", "/api/v1/cycles/{cycle}/activate/", "supervisor", {}),
    Write("post", "/api/v1/cycles/{cycle}/close/", "supervisor", {}),
    Write(
        "post",
        "/api/v1/criteria/",
        "supervisor",
        {
            "cycle": "{cycle}",
            "code": "N1",
            "title": "New",
            "category": "supervision",
            "due_at": "2026-09-01T00:00:00+08:00",
            "max_score": "5",
            "deduction_rules": [{"code": "X", "points": "1"}],
        },
    ),
    Write("patch", "/api/v1/criteria/{criterion}/", "supervisor", {"title": "Renamed"}),
    Write("post", "/api/v1/tasks/{task_a}/start/", "school_a_user", {}),
    Write("post", "/api/v1/tasks/{task_a}/progress/", "school_a_user", {"progress": 50, "note": "half"}),
    Write("post", "/api/v1/tasks/{task_a}/submit/", "school_a_user", {}),
    Write("post", "/api/v1/tasks/{task_a}/approve/", "supervisor", {"deductions": ["D1"], "comment": "ok"}),
    Write("post", "/api/v1/tasks/{task_a}/return/", "supervisor", {"reason": "redo"}),
    Write(
        "post",
        "/api/v1/tasks/{task_a}/extend/",
        "supervisor",
        {"due_at": "2026-09-01T00:00:00+08:00", "reason": "flood"},
    ),
    Write(
        "post",
        "/api/v1/tasks/{task_a}/extension-requests/",
        "school_a_user",
        {"requested_due_at": "2026-09-01T00:00:00+08:00", "reason": "flood"},
    ),
    Write("post", "/api/v1/tasks/{task_a}/appeals/", "school_a_user", {"reason": "unfair", "contested": ["D1"]}),
    Write(
        "post",
        "/api/v1/extension-requests/{ext_request}/decide/",
        "supervisor",
        {"decision": "approve", "comment": "ok"},
    ),
    Write("post", "/api/v1/appeals/{appeal}/decide/", "supervisor", {"decision": "uphold", "comment": "stands"}),
    Write("post", "/api/v1/auth/token/", "anonymous", {"username": "nobody", "password": "wrong"}),
    # Integrity programme
    Write(
        "post",
        "/api/v1/integrity/items/",
        "supervisor",
        {
            "unit": "{bureau}",
            "list": "micro_power",
            "code": "Z9",
            "title": "新事项",
            "category": "人事",
            "basis": "省清单",
        },
    ),
    Write("patch", "/api/v1/integrity/items/{item}/", "supervisor", {"title": "改名"}),
    Write(
        "post",
        "/api/v1/integrity/risks/",
        "school_a_user",
        {
            "item": "{item}",
            "post": "leader",
            "description": "招生中优亲厚友",
            "level": "high",
            "measures": ["集体研究"],
            "process_map": [
                {"step": "申请", "role": "教师", "control": False},
                {"step": "审批", "role": "校务会", "control": True},
            ],
        },
    ),
    Write("patch", "/api/v1/integrity/risks/{risk}/", "school_a_user", {"description": "改"}),
    Write("post", "/api/v1/integrity/registers/{school_a}/return/", "supervisor", {"reason": "补充"}),
    Write(
        "post",
        "/api/v1/integrity/campaigns/",
        "supervisor",
        {"authority": "{bureau}", "title": "自查", "lists": ["micro_power"], "due_at": "2030-01-01T00:00:00+08:00"},
    ),
    Write("post", "/api/v1/integrity/campaigns/{campaign}/activate/", "supervisor", {}),
    Write(
        "post",
        "/api/v1/integrity/checks/{check}/",
        "school_a_user",
        {
            "result": "finding",
            "note": "查",
            "finding": {"description": "问题", "rectify_by": "2030-01-01T00:00:00+08:00"},
        },
    ),
    Write(
        "post",
        "/api/v1/inspections/",
        "inspector",
        {
            "authority": "{bureau}",
            "kind": "announced",
            "held_on": "2026-02-01",
            "inspectors": 3,
            "targets": [{"kind": "neighbourhood", "name": "东港花园小区"}],
        },
    ),
    Write("patch", "/api/v1/inspections/{inspection}/", "supervisor", {"summary": "补记"}),
    Write(
        "post",
        "/api/v1/cases/",
        "inspector",
        {"authority": "{bureau}", "type": "paid_tutoring", "occurred_on": "2026-02-01", "summary": "赵六有偿补课"},
    ),
    Write("patch", "/api/v1/cases/{case}/", "inspector", {"summary": "李四在小区有偿补课"}),
    Write("post", "/api/v1/cases/{case}/publish/", "inspector", {}),
]
IDS = [f"{w.method}-{w.path}" for w in WRITES]


def _ids(district, task_a) -> dict[str, int]:
    d = district
    item = m.ListItem.objects.create(unit=d.bureau, list="micro_power", code="M1", title="招生录取")
    campaign = campaign_create(
        actor=d.supervisor,
        authority=d.bureau,
        title="自查",
        lists=["micro_power"],
        due_at=timezone.now() + timedelta(30),
    )
    campaign_activate(actor=d.supervisor, campaign=campaign)
    risk = risk_create(
        actor=d.school_a_user, school=d.school_a, item=item, post="leader", description="r", level="low", measures=["m"]
    )
    # School B asked for more time and contested a score: requests a supervisor can decide.
    task_b = m.Task.objects.get(school=district.school_b, criterion=district.criterion)
    asked = m.ExtensionRequest.objects.create(
        task=task_b, requested_due_at=task_b.due_at + timedelta(days=5), reason="flood", created_at=task_b.due_at
    )
    contested = m.Appeal.objects.create(task=task_b, reason="unfair", contested=["D1"], created_at=task_b.due_at)
    return {
        "bureau": d.bureau.pk,
        "school_a": d.school_a.pk,
        "cycle": d.cycle.pk,
        "criterion": d.criterion.pk,
        "task_a": task_a.pk,
        "item": item.pk,
        "risk": risk.pk,
        "campaign": campaign.pk,
        "check": m.Check.objects.get(campaign=campaign, school=d.school_a).pk,
        "ext_request": asked.pk,
        "appeal": contested.pk,
    }


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.fixture
def send(district, task_a, casework, client_for):
    """send(write, body=None, raw=None, content_type=...) as the write's user; returns the response."""
    ids = {
        **_ids(district, task_a),
        "inspection": casework.inspection.pk,
        "case": casework.reported.pk,
        "other_school": district.other_school.pk,
    }

    def go(write: Write, body: Any = None, *, raw: bytes | str | None = None, content_type: str = "application/json"):
        client = client_for(None if write.who == "anonymous" else getattr(district, write.who))
        url = write.path.format(**ids)
        if raw is not None:
            return client.generic(write.method.upper(), url, raw, content_type=content_type)
        return getattr(client, write.method)(url, _fill(body if body is not None else write.good, ids), format="json")

    go.ids = ids
    return go


def _assert_invalid(response, *fields: str) -> dict:
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert body["code"] == "invalid"
    assert isinstance(body["detail"], str) and body["detail"]
    for field in fields:
        assert field in body["errors"], (field, body)
        assert field in body["detail"] or len(body["errors"]) == 1
    return body


# --- every write endpoint -------------------------------------------------------------------------


# --- every write endpoint -------------------------------------------------------------------------
# Each test sends its kind of bad body to every write endpoint and reports all the endpoints that
# answer wrongly at once (one district set-up per test keeps the suite fast).
def _code(response) -> str | None:
    try:
        return response.json().get("code")
    except (ValueError, AttributeError):
        return None


def _refusals(send, cases, expected_status: int, expected_codes: tuple[str, ...]) -> list[str]:
    """Send each (write, body kwargs); list every answer that is not the expected refusal."""
    failures = []
    for write, kwargs in cases:
        response = send(write, **kwargs)
        if response.status_code != expected_status or _code(response) not in expected_codes:
            failures.append(
                f"{write.method} {write.path} {str(kwargs)[:60]}: {response.status_code} {response.content[:200]!r}"
            )
    return failures


MALFORMED = ['{"name": ', "{'single': 'quotes'}", "\xff\xfe garbage", '{"a": NaN}', "[" * 50_000 + "]" * 50_000]
NOT_OBJECTS = ["[1, 2]", '"text"', "42", "null", "true"]


def test_malformed_json_is_400_parse_error_on_every_write(send):
    cases = [(w, {"raw": raw}) for w in WRITES for raw in MALFORMED]
    assert _refusals(send, cases, 400, ("parse_error",)) == []


def test_json_that_is_not_an_object_is_400_on_every_write(send):
    cases = [(w, {"raw": raw}) for w in WRITES for raw in NOT_OBJECTS]
    assert _refusals(send, cases, 400, ("invalid", "parse_error")) == []


def test_an_unsupported_content_type_is_415_on_every_write(send):
    cases = [(w, {"raw": "name=x", "content_type": "text/plain"}) for w in WRITES]
    assert _refusals(send, cases, 415, ("unsupported_media_type",)) == []


def test_a_body_above_the_upload_memory_limit_is_413_on_every_write(send, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    cases = [(w, {"raw": '{"note": "' + "x" * 20_000 + '"}'}) for w in WRITES]
    assert _refusals(send, cases, 413, ("request_too_large",)) == []


def test_unknown_fields_are_refused_with_400_naming_them_on_every_write(send):
    failures = []
    for write in WRITES:
        response = send(write, {**write.good, "score": 100, "is_superuser": True})
        if write.who == "anonymous":  # token login: the credentials are wrong anyway
            if response.status_code != 400:
                failures.append((write.path, response.status_code))
            continue
        body = response.json()
        if response.status_code != 400 or set(body.get("errors", {})) != {"score", "is_superuser"}:
            failures.append((write.path, response.status_code, body))
        elif "score" not in body["detail"] or "is_superuser" not in body["detail"]:
            failures.append((write.path, "detail does not name the fields", body["detail"]))
    assert failures == []


def _string_fields(write: Write) -> list[str]:
    return [k for k, v in write.good.items() if isinstance(v, str) and not v.startswith("{")]


def test_nul_characters_in_strings_are_400_not_a_database_error(send):
    failures = []
    for write in WRITES:
        for field in _string_fields(write) + (["note"] if write.path.endswith("/progress/") else []):
            response = send(write, {**write.good, field: "a\x00b"})
            if response.status_code != 400:
                failures.append((write.path, field, response.status_code))
    assert failures == []


def test_huge_strings_are_400_naming_the_field(send):
    failures = []
    for write in WRITES:
        for field in _string_fields(write):
            response = send(write, {**write.good, field: "x" * 200_000})
            if response.status_code != 400:
                failures.append((write.path, field, response.status_code))
            elif write.who != "anonymous" and field not in response.json()["errors"]:
                failures.append((write.path, field, response.json()))
    assert failures == []


# --- wrong types, missing fields, out of range --------------------------------------------------
TYPE_CASES = [
    # (write index by path, field, bad value)
    ("/api/v1/tasks/{task_a}/progress/", "progress", -1),
    ("/api/v1/tasks/{task_a}/progress/", "progress", 101),
    ("/api/v1/tasks/{task_a}/progress/", "progress", 10**30),
    ("/api/v1/tasks/{task_a}/progress/", "progress", "fifty"),
    ("/api/v1/tasks/{task_a}/progress/", "progress", 50.5),
    ("/api/v1/tasks/{task_a}/progress/", "progress", True),
    ("/api/v1/tasks/{task_a}/progress/", "progress", None),
    ("/api/v1/tasks/{task_a}/progress/", "progress", [50]),
    ("/api/v1/tasks/{task_a}/progress/", "note", {"a": 1}),
    ("/api/v1/tasks/{task_a}/approve/", "deductions", "D1"),
    ("/api/v1/tasks/{task_a}/approve/", "deductions", [{"code": "D1"}]),
    ("/api/v1/tasks/{task_a}/approve/", "deductions", ["UNKNOWN"]),
    ("/api/v1/tasks/{task_a}/approve/", "comment", ["x"]),
    ("/api/v1/tasks/{task_a}/return/", "reason", ""),
    ("/api/v1/tasks/{task_a}/return/", "reason", "   "),
    ("/api/v1/tasks/{task_a}/return/", "rework_due_at", "next week"),
    ("/api/v1/tasks/{task_a}/return/", "rework_due_at", "2026-02-30T10:00:00Z"),
    ("/api/v1/tasks/{task_a}/extend/", "due_at", "2026-13-01T00:00:00Z"),
    ("/api/v1/tasks/{task_a}/extend/", "due_at", "0001-01-01T00:00:00+14:00"),
    ("/api/v1/tasks/{task_a}/extend/", "due_at", "9999-12-31T23:59:59-14:00"),
    ("/api/v1/tasks/{task_a}/extend/", "due_at", 1767225600),
    ("/api/v1/tasks/{task_a}/extend/", "reason", ""),
    ("/api/v1/tasks/{task_a}/extend/", "due_at", "2026-01-01T00:00:00Z"),  # earlier than the current one
    ("/api/v1/tasks/{task_a}/extension-requests/", "requested_due_at", "soon"),
    ("/api/v1/tasks/{task_a}/extension-requests/", "requested_due_at", "2026-01-01T00:00:00Z"),  # not later
    ("/api/v1/tasks/{task_a}/extension-requests/", "requested_due_at", None),
    ("/api/v1/tasks/{task_a}/extension-requests/", "reason", "   "),
    ("/api/v1/tasks/{task_a}/appeals/", "contested", "D1"),
    ("/api/v1/tasks/{task_a}/appeals/", "contested", []),
    ("/api/v1/tasks/{task_a}/appeals/", "contested", [{"code": "D1"}]),
    ("/api/v1/tasks/{task_a}/appeals/", "contested", ["UNKNOWN"]),
    ("/api/v1/tasks/{task_a}/appeals/", "reason", ""),
    ("/api/v1/extension-requests/{ext_request}/decide/", "decision", "maybe"),
    ("/api/v1/extension-requests/{ext_request}/decide/", "due_at", "2026-13-01T00:00:00Z"),
    ("/api/v1/extension-requests/{ext_request}/decide/", "due_at", "2020-01-01T00:00:00Z"),  # earlier
    ("/api/v1/extension-requests/{ext_request}/decide/", "comment", ""),
    ("/api/v1/appeals/{appeal}/decide/", "decision", "overturn"),
    ("/api/v1/appeals/{appeal}/decide/", "deductions", "D1"),
    ("/api/v1/appeals/{appeal}/decide/", "deductions", ["UNKNOWN"]),
    ("/api/v1/appeals/{appeal}/decide/", "waive_late_penalty", "perhaps"),
    ("/api/v1/units/", "kind", "district"),
    ("/api/v1/units/", "parent", "abc"),
    ("/api/v1/units/", "parent", {"id": 1}),
    ("/api/v1/units/", "parent", 10**30),
    ("/api/v1/units/", "parent", "{school_a}"),  # a school cannot be a parent
    ("/api/v1/units/", "code", "PT"),  # already taken (the bureau's)
    ("/api/v1/units/{school_a}/", "parent", "{school_a}"),
    ("/api/v1/units/{school_a}/", "kind", "authority"),  # has tasks
    ("/api/v1/accounts/", "role", "admin"),
    ("/api/v1/accounts/", "unit", "{bureau}"),  # a school role needs a school
    ("/api/v1/accounts/", "password", "123"),
    ("/api/v1/accounts/", "password", "password"),
    ("/api/v1/accounts/", "username", "has spaces"),
    ("/api/v1/accounts/", "username", ""),
    ("/api/v1/accounts/", "email", "not-an-email"),
    ("/api/v1/cycles/", "starts_on", "2027-02-30"),
    ("/api/v1/cycles/", "ends_on", "2026-01-01"),  # before starts_on
    ("/api/v1/cycles/", "authority", "{school_a}"),
    ("/api/v1/cycles/", "critical_days_overdue", -3),
    ("/api/v1/cycles/{cycle}/", "ends_on", "2020-01-01"),
    ("/api/v1/cycles/{cycle}/", "status", "closed"),
    ("/api/v1/cycles/{cycle}/", "authority", "{bureau}"),
    ("/api/v1/criteria/", "due_at", "tomorrow"),
    ("/api/v1/criteria/", "max_score", "-1"),
    ("/api/v1/criteria/", "max_score", "1e400"),
    ("/api/v1/criteria/", "max_score", "123456789"),
    ("/api/v1/criteria/", "min_evidence", -1),
    ("/api/v1/criteria/", "min_evidence", 2**63),
    ("/api/v1/criteria/", "late_penalty_per_day", "abc"),
    ("/api/v1/criteria/", "deduction_rules", "none"),
    ("/api/v1/criteria/", "deduction_rules", [{"code": "X"}]),
    ("/api/v1/criteria/", "deduction_rules", [{"code": "X", "points": "-2"}]),
    ("/api/v1/criteria/", "deduction_rules", [{"code": "X", "points": "1"}, {"code": "X", "points": "2"}]),
    ("/api/v1/criteria/", "deduction_rules", [{"code": "X", "points": "1", "evil": True}]),
    ("/api/v1/criteria/", "code", "C" * 100),
    ("/api/v1/criteria/", "cycle", "abc"),
    ("/api/v1/criteria/{criterion}/", "cycle", "{cycle}"),
    ("/api/v1/criteria/{criterion}/", "due_at", None),
    ("/api/v1/criteria/{criterion}/", "min_evidence", "many"),
    ("/api/v1/integrity/items/", "list", "blacklist"),
    ("/api/v1/integrity/items/", "code", ""),
    ("/api/v1/integrity/items/", "unit", "abc"),
    ("/api/v1/integrity/items/{item}/", "list", "negative"),  # an item never changes list
    ("/api/v1/integrity/risks/", "level", "extreme"),
    ("/api/v1/integrity/risks/", "post", "janitor"),
    ("/api/v1/integrity/risks/", "measures", []),
    ("/api/v1/integrity/risks/", "measures", "集体研究"),
    ("/api/v1/integrity/risks/", "process_map", []),  # high risk without a process map
    ("/api/v1/integrity/risks/", "process_map", [{"step": "审批", "role": "校长", "control": False}] * 2),
    ("/api/v1/integrity/risks/", "process_map", [{"step": "审批"}]),
    ("/api/v1/integrity/risks/", "process_map", "steps"),
    ("/api/v1/integrity/risks/{risk}/", "school", "{school_a}"),
    ("/api/v1/integrity/registers/{school_a}/return/", "reason", ""),
    ("/api/v1/integrity/campaigns/", "lists", []),
    ("/api/v1/integrity/campaigns/", "lists", ["positive"]),
    ("/api/v1/integrity/campaigns/", "due_at", "soon"),
    ("/api/v1/integrity/campaigns/", "due_at", "2001-01-01T00:00:00Z"),  # in the past
    ("/api/v1/integrity/campaigns/", "authority", "{school_a}"),
    ("/api/v1/integrity/checks/{check}/", "result", "maybe"),
    ("/api/v1/integrity/checks/{check}/", "finding", {"description": "问题"}),  # a finding without a deadline
    ("/api/v1/integrity/checks/{check}/", "finding", None),
    ("/api/v1/integrity/checks/{check}/", "finding", {"description": " ", "rectify_by": "2030-01-01T00:00:00Z"}),
    ("/api/v1/inspections/", "authority", "{school_a}"),
    ("/api/v1/inspections/", "kind", "surprise"),
    ("/api/v1/inspections/", "held_on", "2026-02-30"),
    ("/api/v1/inspections/", "held_on", "2099-01-01"),  # in the future
    ("/api/v1/inspections/", "held_on", "1999-12-31"),
    ("/api/v1/inspections/", "inspectors", 0),
    ("/api/v1/inspections/", "inspectors", "many"),
    ("/api/v1/inspections/", "inspectors", 10**30),
    ("/api/v1/inspections/", "targets", []),
    ("/api/v1/inspections/", "targets", "小区"),
    ("/api/v1/inspections/", "targets", [{"kind": "school"}]),
    ("/api/v1/inspections/", "targets", [{"kind": "school", "school": "{other_school}"}]),
    ("/api/v1/inspections/", "targets", [{"kind": "school", "school": "{bureau}"}]),
    ("/api/v1/inspections/", "targets", [{"kind": "neighbourhood", "name": "x", "school": "{school_a}"}]),
    ("/api/v1/inspections/", "targets", [{"kind": "neighbourhood", "name": "x", "evil": True}]),
    ("/api/v1/inspections/", "targets", [{"kind": "park", "name": "x"}]),
    ("/api/v1/inspections/{inspection}/", "authority", "{bureau}"),
    ("/api/v1/inspections/{inspection}/", "held_on", "2099-01-01"),
    ("/api/v1/cases/", "authority", "{school_a}"),
    ("/api/v1/cases/", "type", "theft"),
    ("/api/v1/cases/", "occurred_on", "2099-01-01"),  # in the future
    ("/api/v1/cases/", "occurred_on", "yesterday"),
    ("/api/v1/cases/", "summary", "   "),
    ("/api/v1/cases/", "persons", "张三"),
    ("/api/v1/cases/", "persons", ["张"]),
    ("/api/v1/cases/", "persons", ["张某"]),
    ("/api/v1/cases/", "persons", [["张三"]]),
    ("/api/v1/cases/", "persons", ["张三"] * 51),
    ("/api/v1/cases/", "school", "{other_school}"),
    ("/api/v1/cases/", "school", "{bureau}"),
    ("/api/v1/cases/", "inspection", "abc"),
    ("/api/v1/cases/", "inspection", 999_999_999),
    ("/api/v1/cases/{case}/", "status", "closed"),
    ("/api/v1/cases/{case}/", "authority", "{bureau}"),
    ("/api/v1/cases/{case}/", "persons", [""]),
    ("/api/v1/cases/{case}/", "school", "{other_school}"),
]


def test_wrong_types_and_values_are_400_naming_the_field(send):
    failures = []
    for path, field, value in TYPE_CASES:
        write = next(w for w in WRITES if w.path == path)
        events_before = m.Event.objects.count()
        response = send(write, {**write.good, field: value})
        if response.status_code != 400 or field not in response.json().get("errors", {}):
            failures.append((path, field, value, response.status_code, response.content[:200]))
        elif field not in response.json()["detail"] and len(response.json()["errors"]) > 1:
            failures.append((path, field, value, "detail does not name the field"))
        if m.Event.objects.count() != events_before:
            failures.append((path, field, value, "an event was recorded"))
    assert failures == []


def test_each_missing_required_field_is_400_naming_it(send):
    optional = {"note", "comment", "deductions", "rework_due_at", "deduction_rules", "parent", "category", "basis"}
    failures = []
    for write in WRITES:
        if write.method != "post" or write.who == "anonymous":
            continue
        for field in set(write.good) - optional:
            response = send(write, {k: v for k, v in write.good.items() if k != field})
            if response.status_code != 400 or field not in response.json().get("errors", {}):
                failures.append((write.path, field, response.status_code))
    assert failures == []


def test_progress_bounds_are_inclusive(send):
    write = next(w for w in WRITES if w.path.endswith("/progress/"))
    for value in (0, 100):
        response = send(write, {"progress": value})
        assert response.status_code == 200
        assert response.json()["progress"] == value


def test_a_naive_datetime_is_read_in_the_configured_time_zone(send, task_a):
    write = next(w for w in WRITES if w.path.endswith("/extend/"))
    response = send(write, {"due_at": "2026-09-01T17:00:00", "reason": "flood"})
    assert response.status_code == 200
    task_a.refresh_from_db()
    assert task_a.due_at.isoformat() == "2026-09-01T09:00:00+00:00"  # Asia/Shanghai is UTC+8


# --- ids in URLs -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tasks/abc/",
        "/api/v1/tasks/-1/",
        "/api/v1/tasks/1e3/",
        "/api/v1/tasks/99999999999999999999999999/",
        "/api/v1/tasks/%00/",
        "/api/v1/tasks/abc/history/",
        "/api/v1/tasks/99999999999999999999999999/evidence/",
        "/api/v1/units/abc/",
        "/api/v1/cycles/abc/",
        "/api/v1/criteria/abc/",
        "/api/v1/evidence/abc/",
        "/api/v1/evidence/abc/download/",
        "/api/v1/evidence/99999999999999999999999999/download/",
        "/api/v1/events/abc/",
        "/api/v1/inspections/abc/",
        "/api/v1/cases/abc/",
        "/api/v1/cases/99999999999999999999999999/reads/",
        "/api/v1/notices/1.5/",
    ],
)
def test_non_integer_or_huge_ids_in_urls_are_404(district, client_for, path):
    response = client_for(district.supervisor).get(path)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/api/v1/tasks/abc/start/", "/api/v1/tasks/99999999999999999999999999/submit/", "/api/v1/cycles/x/activate/"],
)
def test_non_integer_ids_in_action_urls_are_404(district, client_for, path):
    assert client_for(district.supervisor).post(path, {}, format="json").status_code == 404


# --- lists: pagination and filters -------------------------------------------------------------
LISTS = [
    "/api/v1/units/",
    "/api/v1/cycles/",
    "/api/v1/criteria/",
    "/api/v1/tasks/",
    "/api/v1/events/",
    "/api/v1/inspections/",
    "/api/v1/cases/",
    "/api/v1/notices/",
]


@pytest.mark.parametrize("url", LISTS)
def test_a_bad_page_size_falls_back_to_the_default(district, client_for, url):
    client = client_for(district.supervisor)
    default = client.get(url).json()
    for page_size in ["abc", "0", "-5", "1.5", "", "99999999999999999999999"]:
        response = client.get(url, {"page_size": page_size})
        assert response.status_code == 200, page_size
        assert response.json() == default


def test_page_size_is_capped_at_500(district, client_for):
    from tests.factories import SchoolFactory

    SchoolFactory.create_batch(520, parent=district.bureau)
    response = client_for(district.supervisor).get("/api/v1/units/", {"page_size": 10_000})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 500
    assert response.json()["count"] == 523
    assert len(client_for(district.supervisor).get("/api/v1/units/", {"page_size": 7}).json()["results"]) == 7


@pytest.mark.parametrize("url", LISTS)
def test_a_page_that_does_not_exist_is_404(district, client_for, url):
    for page in ["abc", "0", "999", "-1"]:
        response = client_for(district.supervisor).get(url, {"page": page})
        assert response.status_code == 404, page
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("url", "param", "value"),
    [
        ("/api/v1/tasks/", "cycle", "abc"),
        ("/api/v1/tasks/", "cycle", "99999999999999999999999"),
        ("/api/v1/tasks/", "school", "-1"),
        ("/api/v1/tasks/", "criterion", "1.5"),
        ("/api/v1/tasks/", "status", "done"),
        ("/api/v1/tasks/", "overdue", "maybe"),
        ("/api/v1/tasks/", "overdue", "yes please"),
        ("/api/v1/tasks/", "due_before", "yesterday"),
        ("/api/v1/tasks/", "due_after", "2026-02-30T00:00:00Z"),
        ("/api/v1/units/", "kind", "district"),
        ("/api/v1/units/", "parent", "x"),
        ("/api/v1/cycles/", "status", "paused"),
        ("/api/v1/cycles/", "authority", "x"),
        ("/api/v1/criteria/", "cycle", "x"),
        ("/api/v1/events/", "cycle", "x"),
        ("/api/v1/events/", "school", "x"),
        ("/api/v1/events/", "task", "x"),
        ("/api/v1/events/", "type", "t" * 200),
        ("/api/v1/inspections/", "year", "1999"),
        ("/api/v1/inspections/", "year", "abc"),
        ("/api/v1/inspections/", "kind", "secret"),
        ("/api/v1/inspections/", "authority", "x"),
        ("/api/v1/cases/", "status", "open"),
        ("/api/v1/cases/", "type", "theft"),
        ("/api/v1/cases/", "published", "maybe"),
        ("/api/v1/cases/", "inspection", "x"),
        ("/api/v1/cases/", "year", "20000"),
        ("/api/v1/notices/", "type", "x"),
        ("/api/v1/notices/", "year", "-1"),
    ],
)
def test_invalid_filter_values_are_400_naming_the_filter(district, client_for, url, param, value):
    response = client_for(district.supervisor).get(url, {param: value})
    _assert_invalid(response, param)


@pytest.mark.parametrize(("value", "overdue"), [("true", True), ("false", False), ("1", True), ("0", False)])
def test_overdue_filter_accepts_true_and_false(district, client_for, task_a, task_b, value, overdue):
    from datetime import timedelta

    from django.utils import timezone

    m.Task.objects.filter(pk=task_a.pk).update(due_at=timezone.now() - timedelta(days=2))
    m.Task.objects.filter(pk=task_b.pk).update(due_at=timezone.now() + timedelta(days=2))
    response = client_for(district.supervisor).get("/api/v1/tasks/", {"overdue": value})
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == ({task_a.pk} if overdue else {task_b.pk})
    assert all(row["is_overdue"] is overdue for row in response.json()["results"])


@pytest.mark.parametrize("url", LISTS)
def test_unknown_query_parameters_do_not_break_a_list_and_an_unknown_ordering_is_400(district, client_for, url):
    client = client_for(district.supervisor)
    assert client.get(url, {"bogus": "1", "search": "x"}).status_code == 200
    # An ordering the list does not offer is named, not silently ignored (issue 13, item 12).
    response = client.get(url, {"ordering": "password", "bogus": "1"})
    _assert_invalid(response, "ordering")


def test_tasks_can_be_ordered_by_due_at_both_ways(district, client_for, task_a, task_b):
    from datetime import timedelta

    m.Task.objects.filter(pk=task_b.pk).update(due_at=task_a.due_at + timedelta(days=1))
    client = client_for(district.supervisor)
    up = [r["id"] for r in client.get("/api/v1/tasks/", {"ordering": "due_at"}).json()["results"]]
    down = [r["id"] for r in client.get("/api/v1/tasks/", {"ordering": "-due_at"}).json()["results"]]
    assert up == [task_a.pk, task_b.pk]
    assert down == [task_b.pk, task_a.pk]


# --- evidence upload: bodies that are not a proper upload ---------------------------------------
def test_upload_without_a_file_field_is_400_naming_file(district, client_for, task_a):
    client = client_for(district.school_a_user)
    url = f"/api/v1/tasks/{task_a.pk}/evidence/"
    _assert_invalid(client.post(url, {"other": "x"}, format="multipart"), "file")
    _assert_invalid(client.post(url, {"file": "not a file"}, format="multipart"), "file")


def test_upload_as_json_is_415(district, client_for, task_a):
    response = client_for(district.school_a_user).post(
        f"/api/v1/tasks/{task_a.pk}/evidence/", {"file": "aGVsbG8="}, format="json"
    )
    assert response.status_code == 415


def test_upload_with_two_files_is_400(district, client_for, task_a):
    response = client_for(district.school_a_user).post(
        f"/api/v1/tasks/{task_a.pk}/evidence/", {"file": [upload("png"), upload("pdf")]}, format="multipart"
    )
    _assert_invalid(response, "file")
    assert not m.Evidence.objects.filter(task=task_a).exists()


def test_a_broken_multipart_body_is_400(district, client_for, task_a):
    response = client_for(district.school_a_user).generic(
        "POST",
        f"/api/v1/tasks/{task_a.pk}/evidence/",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4',
        content_type="multipart/form-data; boundary=xyz",
    )
    assert 400 <= response.status_code < 500


def test_a_multipart_body_without_a_boundary_is_400(district, client_for, task_a):
    response = client_for(district.school_a_user).generic(
        "POST", f"/api/v1/tasks/{task_a.pk}/evidence/", b"abc", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# --- odd characters, odd verbs, odd formats --------------------------------------------------------
def test_lone_surrogates_in_json_strings_are_400_not_an_encoding_crash(send):
    failures = []
    for write in WRITES:
        for field in _string_fields(write) + (["note"] if write.path.endswith("/progress/") else []):
            raw = json.dumps({**_fill(write.good, send.ids), field: "a\ud800b"})  # json.dumps escapes it as \\ud800
            response = send(write, raw=raw)
            if response.status_code != 400:
                failures.append((write.path, field, response.status_code))
    assert failures == []


@pytest.mark.parametrize(
    ("url", "param", "value"),
    [
        ("/api/v1/events/", "type", "a\x00b"),
        ("/api/v1/criteria/", "category", "a\x00b"),
        ("/api/v1/tasks/", "cycle", "\x00"),
        ("/api/v1/tasks/", "due_before", "9999-12-31T23:59:59-14:00"),
        ("/api/v1/tasks/", "due_after", "0001-01-01T00:00:00+14:00"),
        ("/api/v1/tasks/", "ordering", "\x00"),
    ],
)
def test_odd_filter_values_never_crash_a_list(district, client_for, url, param, value):
    response = client_for(district.supervisor).get(url, {param: value})
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert param in response.json()["errors"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/units/",
        "/api/v1/units/{school_a}/",
        "/api/v1/cycles/",
        "/api/v1/cycles/{cycle}/activate/",
        "/api/v1/criteria/{criterion}/",
        "/api/v1/tasks/",
        "/api/v1/tasks/{task_a}/",
        "/api/v1/tasks/{task_a}/approve/",
        "/api/v1/tasks/{task_a}/evidence/",
        "/api/v1/events/",
        "/api/v1/accounts/",
        "/api/v1/me/",
    ],
)
def test_options_head_and_the_browsable_api_never_crash(district, client_for, task_a, path):
    url = path.format(**_ids(district, task_a))
    client = client_for(district.supervisor)
    assert client.options(url).status_code == 200
    assert client.head(url).status_code in (200, 405)
    html = client.get(url, HTTP_ACCEPT="text/html")
    assert html.status_code in (200, 405), html.content[:300]
    assert client.get(url, HTTP_ACCEPT="application/xml").status_code in (406, 405)
    assert client.get(url, {"format": "xml"}).status_code in (404, 405)


@pytest.mark.parametrize("method", ["put", "delete"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/units/{school_a}/",
        "/api/v1/cycles/{cycle}/",
        "/api/v1/criteria/{criterion}/",
        "/api/v1/tasks/{task_a}/",
    ],
)
def test_verbs_an_endpoint_does_not_offer_are_405(district, client_for, task_a, method, path):
    url = path.format(**_ids(district, task_a))
    response = getattr(client_for(district.supervisor), method)(url, {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
