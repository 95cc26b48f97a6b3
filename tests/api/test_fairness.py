"""CONTRACT section 7 over HTTP: task fields, ?at_risk=, extension requests, appeals, the deduction ledger,
and the new numbers of the dashboards, trend and exports. Order of judgement: 404, 403, 400, 409."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time

from tests.factories import EvidenceFactory, MembershipFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.reporting.snapshots import snapshots_take

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
D = timedelta(days=1)
REQUEST_KEYS = {
    "id",
    "task",
    "requested_due_at",
    "reason",
    "status",
    "late_request",
    "created_at",
    "decided_at",
    "decided_by",
    "decision_due_at",
    "comment",
}
APPEAL_KEYS = {
    "id",
    "task",
    "reason",
    "contested",
    "status",
    "created_at",
    "decided_at",
    "decided_by",
    "comment",
    "score_before",
    "score_after",
}


def url(task, what: str) -> str:
    return f"/api/v1/tasks/{task.pk}/{what}/"


def post(client_for, user, path, body):
    return client_for(user).post(path, body, format="json")


def approve(district, task, deductions=("D1",), at=DUE - D):
    EvidenceFactory(task=task)
    task_services.task_submit(task=task, actor=district.school_a_user, now=at - D)
    return task_services.task_approve(task=task, actor=district.supervisor, deductions=list(deductions), now=at)


# --- Task output and the at-risk filter ---------------------------------------------------------------------
@freeze_time(DUE - 5 * D)
def test_task_output_has_both_deadlines_extensions_and_the_risk(district, task_a, task_b, client_for):
    task_services.task_extend(task=task_b, actor=district.supervisor, due_at=DUE + 40 * D, reason="r")
    client = client_for(district.supervisor)

    a = client.get(f"/api/v1/tasks/{task_a.pk}/").json()
    b = client.get(f"/api/v1/tasks/{task_b.pk}/").json()

    assert (a["original_due_at"], a["due_at"], a["extensions"], a["is_at_risk"]) == (
        "2026-07-01T00:00:00+08:00",
        "2026-07-01T00:00:00+08:00",
        0,
        True,
    )
    assert (b["original_due_at"], b["due_at"], b["extensions"], b["is_at_risk"]) == (
        "2026-07-01T00:00:00+08:00",
        "2026-08-10T00:00:00+08:00",
        1,
        False,
    )


@freeze_time(DUE - 5 * D)
def test_the_task_list_filters_on_at_risk(district, task_a, task_b, client_for):
    task_services.task_progress(task=task_b, actor=district.school_b_user, progress=90)
    client = client_for(district.supervisor)

    risky = client.get("/api/v1/tasks/", {"at_risk": "true"}).json()["results"]
    safe = client.get("/api/v1/tasks/", {"at_risk": "false"}).json()["results"]

    assert [t["id"] for t in risky] == [task_a.pk]
    assert [t["id"] for t in safe] == [task_b.pk]
    assert all(t["is_at_risk"] for t in risky) and not any(t["is_at_risk"] for t in safe)
    bad = client.get("/api/v1/tasks/", {"at_risk": "maybe"})
    assert bad.status_code == 400 and "at_risk" in bad.json()["errors"]
    # a school sees its own task at risk, never another school's
    mine = client_for(district.school_b_user).get("/api/v1/tasks/", {"at_risk": "true"}).json()
    assert mine["count"] == 0


def test_extend_to_an_earlier_deadline_is_a_400_naming_due_at(district, task_a, client_for):
    response = post(
        client_for, district.supervisor, url(task_a, "extend"), {"due_at": "2026-06-01T00:00:00Z", "reason": "r"}
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"due_at"}


# --- Extension requests -------------------------------------------------------------------------------------
@freeze_time(DUE + D)
def test_a_school_requests_and_a_supervisor_decides(district, task_a, client_for):
    body = {"requested_due_at": "2026-07-20T18:00:00+08:00", "reason": "暴雨停课"}
    made = post(client_for, district.school_a_user, url(task_a, "extension-requests"), body)

    assert made.status_code == 201
    data = made.json()
    assert set(data) >= REQUEST_KEYS
    assert (data["task"], data["status"], data["late_request"], data["reason"]) == (
        task_a.pk,
        "pending",
        True,
        "暴雨停课",
    )
    assert (data["decided_at"], data["decided_by"], data["decision_due_at"]) == (None, None, None)

    decided = post(
        client_for,
        district.supervisor,
        f"/api/v1/extension-requests/{data['id']}/decide/",
        {"decision": "approve", "comment": "同意"},
    )
    assert decided.status_code == 200
    out = decided.json()
    assert (out["status"], out["decided_by"], out["decision_due_at"]) == (
        "approved",
        district.supervisor.username,
        "2026-07-20T18:00:00+08:00",
    )
    task = client_for(district.school_a_user).get(f"/api/v1/tasks/{task_a.pk}/").json()
    assert (task["due_at"], task["extensions"]) == ("2026-07-20T18:00:00+08:00", 1)

    again = post(
        client_for,
        district.supervisor,
        f"/api/v1/extension-requests/{data['id']}/decide/",
        {"decision": "reject", "comment": "no"},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_extension_requests_are_judged_404_403_400_409(district, task_a, task_other, client_for):
    body = {"requested_due_at": "2026-07-20T00:00:00Z", "reason": "r"}
    path = url(task_a, "extension-requests")
    assert post(client_for, district.school_b_user, path, body).status_code == 404  # another school's task
    assert post(client_for, district.other_supervisor, path, body).status_code == 404
    assert post(client_for, district.supervisor, path, body).status_code == 403  # schools ask
    assert post(client_for, district.inspector, path, body).status_code == 403
    for bad, field in [
        ({"requested_due_at": "2026-07-20T00:00:00Z"}, "reason"),
        ({"requested_due_at": "2026-07-20T00:00:00Z", "reason": ""}, "reason"),
        ({"requested_due_at": "2026-06-01T00:00:00Z", "reason": "r"}, "requested_due_at"),
        ({"requested_due_at": "someday", "reason": "r"}, "requested_due_at"),
        ({**body, "status": "approved"}, "status"),
    ]:
        response = post(client_for, district.school_a_user, path, bad)
        assert response.status_code == 400, bad
        assert field in response.json()["errors"], bad
    assert post(client_for, district.school_a_user, path, body).status_code == 201
    pending = post(client_for, district.school_a_user, path, {**body, "requested_due_at": "2026-07-25T00:00:00Z"})
    assert (pending.status_code, pending.json()["code"]) == (409, "request_pending")
    m.Task.objects.filter(pk=task_other.pk).update(status="approved")
    refused = post(client_for, district.other_school_user, url(task_other, "extension-requests"), body)
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")


def test_deciding_a_request_is_for_the_schools_supervisors(district, task_a, client_for):
    request = post(
        client_for,
        district.school_a_user,
        url(task_a, "extension-requests"),
        {"requested_due_at": "2026-07-20T00:00:00Z", "reason": "r"},
    ).json()
    path = f"/api/v1/extension-requests/{request['id']}/decide/"
    body = {"decision": "reject", "comment": "c"}
    assert post(client_for, district.other_supervisor, path, body).status_code == 404
    assert post(client_for, district.school_b_user, path, body).status_code == 404
    assert post(client_for, district.school_a_user, path, body).status_code == 403
    assert post(client_for, district.inspector, path, body).status_code == 403
    for bad, field in [({"decision": "later", "comment": "c"}, "decision"), ({"decision": "reject"}, "comment")]:
        response = post(client_for, district.supervisor, path, bad)
        assert (response.status_code, set(response.json()["errors"])) == (400, {field}), bad
    assert m.ExtensionRequest.objects.get().status == "pending"


def test_the_requests_list_is_scoped_filtered_and_oldest_first(district, task_a, task_b, task_other, client_for):
    for user, task, day in [
        (district.school_b_user, task_b, 2),
        (district.school_a_user, task_a, 1),
        (district.other_school_user, task_other, 3),
    ]:
        with freeze_time(DUE - 10 * D + day * D):
            post(
                client_for,
                user,
                url(task, "extension-requests"),
                {"requested_due_at": "2026-07-20T00:00:00Z", "reason": "r"},
            )
    listed = client_for(district.supervisor).get("/api/v1/extension-requests/").json()
    assert [r["task"] for r in listed["results"]] == [task_a.pk, task_b.pk]  # oldest first, own district only
    own = client_for(district.school_a_user).get("/api/v1/extension-requests/").json()
    assert [r["task"] for r in own["results"]] == [task_a.pk]
    by_school = client_for(district.supervisor).get("/api/v1/extension-requests/", {"school": district.school_b.pk})
    assert [r["task"] for r in by_school.json()["results"]] == [task_b.pk]
    by_cycle = client_for(district.supervisor).get("/api/v1/extension-requests/", {"cycle": district.cycle.pk})
    assert by_cycle.json()["count"] == 2
    done = client_for(district.supervisor).get("/api/v1/extension-requests/", {"status": "approved"})
    assert done.json()["count"] == 0
    foreign = client_for(district.supervisor).get("/api/v1/extension-requests/", {"cycle": district.other_cycle.pk})
    assert foreign.status_code == 400  # an out-of-scope id reads as one that does not exist
    theirs = m.ExtensionRequest.objects.get(task=task_other)
    assert client_for(district.school_a_user).get(f"/api/v1/extension-requests/{theirs.pk}/").status_code == 404


# --- Appeals and the ledger ---------------------------------------------------------------------------------
def test_a_school_appeals_and_another_supervisor_amends(district, task_a, client_for):
    other = MembershipFactory(unit=district.bureau, role=m.Role.SUPERVISOR).user
    approve(district, task_a, at=DUE - D)
    with freeze_time(DUE):
        made = post(
            client_for, district.school_a_user, url(task_a, "appeals"), {"reason": "已整改", "contested": ["D1"]}
        )
    assert made.status_code == 201
    data = made.json()
    assert set(data) >= APPEAL_KEYS
    assert (data["status"], data["contested"], data["score_before"], data["score_after"]) == (
        "pending",
        ["D1"],
        "8.00",
        None,
    )
    path = f"/api/v1/appeals/{data['id']}/decide/"
    amend = {"decision": "amend", "deductions": [], "comment": "撤销扣分"}

    same = post(client_for, district.supervisor, path, amend)
    assert (same.status_code, same.json()["code"]) == (403, "same_reviewer")
    decided = post(client_for, other, path, amend)
    assert decided.status_code == 200
    assert (decided.json()["status"], decided.json()["score_after"]) == ("amended", "10.00")

    ledger = client_for(district.school_a_user).get(url(task_a, "deductions")).json()
    assert [(e["code"], e["points"], e["action"], e["source"], e["actor"], e["reason"]) for e in ledger] == [
        ("D1", "2.00", "applied", "approval", district.supervisor.username, ""),
        ("D1", "2.00", "withdrawn", "appeal", other.username, "撤销扣分"),
    ]
    assert ledger[1]["appeal"] == data["id"] and ledger[0]["appeal"] is None
    history = client_for(district.school_a_user).get(url(task_a, "history")).json()
    assert [e["type"] for e in history][-2:] == ["appeal.filed", "appeal.decided"]
    task = client_for(district.school_a_user).get(f"/api/v1/tasks/{task_a.pk}/").json()
    assert (task["score"], task["deductions"]) == ("10.00", [])


def test_appeals_are_judged_404_403_400_409(district, task_a, task_b, client_for):
    approve(district, task_a, at=DUE - D)
    path = url(task_a, "appeals")
    body = {"reason": "r", "contested": ["D1"]}
    with freeze_time(DUE):
        assert post(client_for, district.school_b_user, path, body).status_code == 404
        assert post(client_for, district.supervisor, path, body).status_code == 403
        for bad, field in [
            ({"contested": ["D1"]}, "reason"),
            ({"reason": "r", "contested": []}, "contested"),
            ({"reason": "r", "contested": "D1"}, "contested"),
            ({"reason": "r", "contested": ["D2"]}, "contested"),  # not applied to this task
        ]:
            response = post(client_for, district.school_a_user, path, bad)
            assert response.status_code == 400, bad
            assert field in response.json()["errors"], bad
        refused = post(client_for, district.school_b_user, url(task_b, "appeals"), body)
        assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")
        assert post(client_for, district.school_a_user, path, body).status_code == 201
        pending = post(client_for, district.school_a_user, path, body)
        assert (pending.status_code, pending.json()["code"]) == (409, "request_pending")
    m.Appeal.objects.update(status="upheld")
    with freeze_time(DUE - D + 7 * D + timedelta(seconds=1)):
        late = post(client_for, district.school_a_user, path, body)
    assert (late.status_code, late.json()["code"]) == (409, "appeal_window_closed")


def test_appeals_and_ledgers_of_other_schools_are_404(district, task_a, client_for):
    approve(district, task_a, at=DUE - D)
    with freeze_time(DUE):
        made = post(client_for, district.school_a_user, url(task_a, "appeals"), {"reason": "r", "contested": ["D1"]})
    appeal_id = made.json()["id"]
    for intruder in (district.school_b_user, district.other_supervisor, district.other_school_user):
        client = client_for(intruder)
        assert client.get(f"/api/v1/appeals/{appeal_id}/").status_code == 404
        assert client.get(url(task_a, "deductions")).status_code == 404
        assert client.get("/api/v1/appeals/").json()["count"] == 0
    assert post(client_for, district.other_supervisor, f"/api/v1/appeals/{appeal_id}/decide/", {}).status_code == 404
    assert client_for(district.inspector).get("/api/v1/appeals/", {"status": "pending"}).json()["count"] == 1


# --- The dashboards' new numbers ------------------------------------------------------------------------------
def test_trend_points_and_exports_carry_the_original_deadline_rate(district, task_a, task_b, client_for):
    # A submits a day after its deadline, which had been extended by a week: on time now, late originally
    task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE + 7 * D, reason="r", now=DUE - D)
    EvidenceFactory(task=task_a)
    task_services.task_submit(task=task_a, actor=district.school_a_user, now=DUE + D)
    snapshots_take(now=DUE + 10 * D)
    old = m.DailySnapshot.objects.get(school=district.school_a)
    m.DailySnapshot.objects.create(  # a day recorded before the original deadline was counted
        **{f.name: getattr(old, f.name) for f in old._meta.fields if f.name not in ("id", "date")},
        date=date(2026, 7, 10),
    )
    m.DailySnapshot.objects.filter(date=date(2026, 7, 10)).update(original_due_passed=None, on_time_original=None)

    trend = (
        client_for(district.supervisor)
        .get("/api/v1/dashboards/trend/", {"cycle": district.cycle.pk, "since": "2026-07-10", "until": "2026-07-11"})
        .json()
    )
    series = {s["school"]["name"]: s["points"] for s in trend["series"]}
    assert [(p["on_time_rate"], p["on_time_original_rate"]) for p in series["School A"]] == [(1.0, None), (1.0, 0.0)]
    assert [(p["on_time_rate"], p["on_time_original_rate"]) for p in series["School B"]] == [(0.0, 0.0)]

    with freeze_time(DUE + 10 * D):
        english = client_for(district.supervisor)
        english.credentials(HTTP_ACCEPT_LANGUAGE="en")  # headers are the dashboards' field names in English
        exported = english.get("/api/v1/exports/overview.csv", {"cycle": district.cycle.pk})
    rows = {r["school"]: r for r in csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig")))}
    assert (rows["School A"]["on_time_rate"], rows["School A"]["on_time_original_rate"]) == ("1.0000", "0.0000")
    assert (rows["School A"]["extensions"], rows["School B"]["extensions"]) == ("1", "0")
    assert rows["School B"]["at_risk"] == "0"
