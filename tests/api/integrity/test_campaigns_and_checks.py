"""Campaigns, checks and rectifications over HTTP: a supervisor launches and activates, a school ticks
its checklist, a finding's rectification task shows in the school's task list, is filtered by kind and
campaign, and is chased like any task (flags, urges, oversight by campaign)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.integrity_support import D
from tracker import models as m

pytestmark = pytest.mark.django_db
CAMPAIGNS = "/api/v1/integrity/campaigns/"
CHECKS = "/api/v1/integrity/checks/"


def campaign_body(integrity, **over):
    body = {
        "authority": integrity.d.bureau.pk,
        "title": "2026年“两张清单”自查",
        "lists": ["micro_power", "negative"],
        "due_at": (timezone.now() + 30 * D).isoformat(),
    }
    return {**body, **over}


def launched(integrity, client_for) -> dict:
    sup = client_for(integrity.d.supervisor)
    campaign = sup.post(CAMPAIGNS, campaign_body(integrity), format="json").json()
    assert sup.post(f"{CAMPAIGNS}{campaign['id']}/activate/").json() == {"checks_created": 7}
    return campaign


def a_check(integrity, campaign, school=None, code="M01") -> m.Check:
    return m.Check.objects.get(campaign_id=campaign["id"], school=school or integrity.d.school_a, item__code=code)


def finding_body(days: int = 14) -> dict:
    return {
        "result": "finding",
        "note": "查阅招生档案",
        "finding": {"description": "招生录取未经集体研究", "rectify_by": (timezone.now() + days * D).isoformat()},
    }


def test_a_supervisor_launches_and_activates_a_campaign_idempotently(integrity, client_for):
    d = integrity.d
    sup = client_for(d.supervisor)
    created = sup.post(CAMPAIGNS, campaign_body(integrity), format="json")
    assert created.status_code == 201
    campaign = created.json()
    assert {k: campaign[k] for k in ("authority", "lists", "status", "kind")} == {
        "authority": d.bureau.pk,
        "lists": ["micro_power", "negative"],
        "status": "draft",
        "kind": "self_inspection",
    }
    url = f"{CAMPAIGNS}{campaign['id']}/activate/"
    assert client_for(d.inspector).post(url).status_code == 403
    assert client_for(d.school_a_user).post(url).status_code == 403
    assert client_for(d.other_supervisor).post(url).status_code == 404
    assert sup.post(url).json() == {"checks_created": 7}
    assert sup.post(url).json() == {"checks_created": 0}
    assert sup.get(f"{CAMPAIGNS}{campaign['id']}/").json()["status"] == "active"
    # Schools of the district see their district's campaigns; the other district does not.
    assert client_for(d.school_a_user).get(f"{CAMPAIGNS}{campaign['id']}/").status_code == 200
    assert client_for(d.other_school_user).get(f"{CAMPAIGNS}{campaign['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("who", "over", "status"),
    [
        ("school_a_user", {}, 403),
        ("inspector", {}, 403),
        ("supervisor", {"lists": []}, 400),
        ("supervisor", {"lists": ["positive"]}, 400),
        ("supervisor", {"due_at": "yesterday"}, 400),
        ("supervisor", {"authority": "other_bureau"}, 400),
        ("supervisor", {"authority": "school_a"}, 400),
        ("supervisor", {"status": "active"}, 400),
    ],
)
def test_bad_campaigns_are_refused(integrity, client_for, who, over, status):
    d = integrity.d
    if over.get("authority") in ("other_bureau", "school_a"):
        over = {"authority": getattr(d, over["authority"]).pk}
    answer = client_for(getattr(d, who)).post(CAMPAIGNS, campaign_body(integrity, **over), format="json")
    assert answer.status_code == status
    assert not m.Campaign.objects.exists()


def test_a_school_ticks_its_checklist_and_a_finding_becomes_its_rectification_task(integrity, client_for):
    d = integrity.d
    campaign = launched(integrity, client_for)
    school = client_for(d.school_a_user)
    mine = school.get(CHECKS, {"campaign": campaign["id"]}).json()
    assert mine["count"] == 4 and {r["result"] for r in mine["results"]} == {None}

    ok = school.post(f"{CHECKS}{a_check(integrity, campaign, code='M02').pk}/", {"result": "ok"}, format="json")
    assert (ok.status_code, ok.json()["result"], ok.json()["finding"], ok.json()["task"]) == (200, "ok", None, None)
    found = school.post(f"{CHECKS}{a_check(integrity, campaign).pk}/", finding_body(), format="json")
    assert found.status_code == 200, found.json()
    check = found.json()
    assert check["finding"]["description"] == "招生录取未经集体研究" and check["task"]

    task = school.get(f"/api/v1/tasks/{check['task']}/").json()
    assert {k: task[k] for k in ("kind", "campaign", "cycle", "criterion", "title", "requirement", "status")} == {
        "kind": "rectification",
        "campaign": campaign["id"],
        "cycle": None,
        "criterion": None,
        "title": "M01 招生录取",
        "requirement": "招生录取未经集体研究",
        "status": "not_started",
    }
    assert task["min_evidence"] == 1 and task["score"] is None
    # It is in the school's task list, and the filters tell the kinds apart.
    listed = {t["id"]: t["kind"] for t in school.get("/api/v1/tasks/").json()["results"]}
    assert listed[check["task"]] == "rectification" and "assessment" in listed.values()
    assert [t["id"] for t in school.get("/api/v1/tasks/", {"kind": "rectification"}).json()["results"]] == [
        check["task"]
    ]
    assert check["task"] not in [
        t["id"] for t in school.get("/api/v1/tasks/", {"kind": "assessment"}).json()["results"]
    ]
    assert [t["id"] for t in school.get("/api/v1/tasks/", {"campaign": campaign["id"]}).json()["results"]] == [
        check["task"]
    ]
    assert school.get("/api/v1/tasks/", {"kind": "other"}).status_code == 400
    # Submitting needs a file, as for any task.
    refused = school.post(f"/api/v1/tasks/{check['task']}/submit/")
    assert (refused.status_code, refused.json()["code"]) == (409, "evidence_required")
    # Filters of the checks.
    assert school.get(CHECKS, {"campaign": campaign["id"], "result": "finding"}).json()["count"] == 1
    assert school.get(CHECKS, {"campaign": campaign["id"], "result": "none"}).json()["count"] == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"result": "finding", "finding": {"description": "问题"}}, 400),  # a finding without a deadline
        ({"result": "finding"}, 400),
        ({"result": "finding", "finding": {"description": "问题", "rectify_by": "2001-01-01T00:00:00Z"}}, 400),
        ({"result": "finding", "finding": {"description": " ", "rectify_by": "2030-01-01T00:00:00Z"}}, 400),
        ({"result": "ok", "finding": {"description": "问题", "rectify_by": "2030-01-01T00:00:00Z"}}, 400),
        ({"result": "maybe"}, 400),
        ({}, 400),
        ({"result": "ok", "task": 1}, 400),
    ],
)
def test_bad_check_results_are_400_and_record_nothing(integrity, client_for, body, status):
    campaign = launched(integrity, client_for)
    check = a_check(integrity, campaign)
    answer = client_for(integrity.d.school_a_user).post(f"{CHECKS}{check.pk}/", body, format="json")
    assert answer.status_code == status, answer.json()
    check.refresh_from_db()
    assert check.result is None
    assert not m.Task.objects.filter(kind="rectification").exists()


def test_a_result_recorded_twice_is_a_409_and_checks_of_another_school_are_404(integrity, client_for):
    d = integrity.d
    campaign = launched(integrity, client_for)
    url = f"{CHECKS}{a_check(integrity, campaign).pk}/"
    school = client_for(d.school_a_user)
    assert school.post(url, {"result": "ok"}, format="json").status_code == 200
    again = school.post(url, finding_body(), format="json")
    assert (again.status_code, again.json()["code"]) == (409, "check_recorded")
    other = f"{CHECKS}{a_check(integrity, campaign, school=d.school_b).pk}/"
    assert school.get(other).status_code == 404
    assert school.post(other, {"result": "ok"}, format="json").status_code == 404
    assert client_for(d.supervisor).post(other, {"result": "ok"}, format="json").status_code == 403
    assert client_for(d.inspector).get(other).status_code == 200
    assert client_for(d.other_supervisor).get(other).status_code == 404


def test_flags_urges_and_oversight_take_a_campaign_where_they_take_a_cycle(integrity, client_for):
    d = integrity.d
    campaign = launched(integrity, client_for)
    school = client_for(d.school_a_user)
    task_id = school.post(f"{CHECKS}{a_check(integrity, campaign).pk}/", finding_body(), format="json").json()["task"]
    m.Task.objects.filter(pk=task_id).update(due_at=timezone.now() - timedelta(hours=2))  # a day's sweep later
    flag = m.Flag.objects.create(
        campaign_id=campaign["id"], school=d.school_a, severity="warning", overdue_count=1, opened_at=timezone.now()
    )
    flags = client_for(d.inspector).get("/api/v1/flags/", {"campaign": campaign["id"]}).json()["results"]
    assert [(f["id"], f["campaign"], f["cycle"]) for f in flags] == [(flag.pk, campaign["id"], None)]

    sup = client_for(d.supervisor)
    body = {
        "campaign": campaign["id"],
        "school": d.school_a.pk,
        "message": "请按期整改",
        "respond_by": (timezone.now() + 3 * D).isoformat(),
    }
    urge = sup.post("/api/v1/urges/", body, format="json")
    assert urge.status_code == 201, urge.json()
    assert (urge.json()["campaign"], urge.json()["cycle"]) == (campaign["id"], None)
    assert sup.post("/api/v1/urges/", {**body, "cycle": d.cycle.pk}, format="json").status_code == 400
    assert (
        sup.post("/api/v1/urges/", {k: v for k, v in body.items() if k != "campaign"}, format="json").status_code == 400
    )
    assert school.get("/api/v1/urges/", {"campaign": campaign["id"]}).json()["count"] == 1

    report = client_for(d.inspector).get("/api/v1/dashboards/oversight/", {"campaign": campaign["id"]})
    assert report.status_code == 200
    body_ = report.json()
    assert body_["campaign"] == campaign["id"] and "cycle" not in body_
    assert [(r["school"]["id"], r["urge"]) for r in body_["flags"]] == [(d.school_a.pk, urge.json()["id"])]
    oversight = "/api/v1/dashboards/oversight/"
    assert client_for(d.inspector).get(oversight, {"campaign": campaign["id"], "cycle": d.cycle.pk}).status_code == 400
    by_default = client_for(d.inspector).get(oversight)  # neither: the latest active cycle, as every district view
    assert (by_default.status_code, by_default.json()["cycle"]) == (200, d.cycle.pk)
    assert client_for(d.other_supervisor).get(oversight, {"campaign": campaign["id"]}).status_code == 404
    assert school.get(oversight, {"campaign": campaign["id"]}).status_code == 403
