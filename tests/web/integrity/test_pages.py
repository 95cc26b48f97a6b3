"""The integrity pages: the two lists, the registers with their process maps, the campaigns with a
school's checklist and the district's dashboard. Each role sees its own (another school's is 404), each
write goes through the integrity services and every refusal is a message with the API's status code."""

from __future__ import annotations

import json
import re

import pytest

from tests.integrity_support import PROCESS_MAP
from tracker import models as m
from tracker.integrity.register_services import risk_create

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    match = re.search(r'<ul class="messages"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    return match.group(1) if match else ""


def _risk(integrity, level="high", process_map=PROCESS_MAP):
    d = integrity.d
    return risk_create(
        actor=d.school_a_user,
        school=d.school_a,
        item=integrity.m1,
        post="leader",
        description="招生录取中优亲厚友",
        level=level,
        measures=["集体决策"],
        process_map=process_map,
    )


def _risk_form(**over) -> dict:
    body = {
        "action": "add_risk",
        "post": "class_teacher",
        "level": "high",
        "description": "评优评先中照顾关系",
        "measures": "班委会民主评议\n结果公示",
        "step_1": "民主推荐",
        "role_1": "班委会",
        "step_2": "集体审定",
        "role_2": "德育处",
        "control_2": "on",
    }
    body.update(over)
    return body


# --- Every page, every role, both languages ---------------------------------------------------------------
@pytest.mark.parametrize("language", [None, "en"])
def test_every_integrity_page_opens_for_every_role(integrity, page_for, language):
    d = integrity.d
    campaign = integrity.campaign()
    _risk(integrity)
    pages = [
        "/integrity/lists/",
        "/integrity/campaigns/",
        f"/integrity/campaigns/{campaign.pk}/",
        f"/integrity/registers/{d.school_a.pk}/",
    ]
    for user in (d.school_a_user, d.supervisor, d.inspector):
        client = page_for(user, language)
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, (user, path, response.status_code)
            html = response.content.decode()
            assert f'<html lang="{language or "zh-hans"}">' in html
    # The register draws its high-risk point's process map as a chart; the dashboard its two charts.
    register = page_for(d.supervisor).get(f"/integrity/registers/{d.school_a.pk}/").content.decode()
    risk = m.RiskPoint.objects.get()
    assert f'data-chart="map-{risk.pk}"' in register and f'id="chart-map-{risk.pk}-data"' in register
    drawn = json.loads(re.search(rf'id="chart-map-{risk.pk}-data"[^>]*>(.*?)</script>', register, re.S).group(1))
    (series,) = drawn["series"]
    assert series["type"] == "graph" and len(series["data"]) == 3 and len(series["links"]) == 2
    assert "集体审议" in series["data"][1]["label"]["formatter"]  # the control step, in red
    assert series["data"][1]["itemStyle"]["borderColor"] != series["data"][0]["itemStyle"]["borderColor"]
    board = page_for(d.inspector).get(f"/integrity/campaigns/{campaign.pk}/").content.decode()
    assert 'data-chart="progress"' in board and 'data-chart="rectifications"' in board
    assert "School A" in board and "School B" in board


def test_a_school_is_sent_to_its_register_and_an_authority_sees_every_schools(integrity, page_for):
    d = integrity.d
    response = page_for(d.school_a_user).get("/integrity/registers/")
    assert response.status_code == 302 and response["Location"].startswith(f"/integrity/registers/{d.school_a.pk}/")
    html = page_for(d.supervisor).get("/integrity/registers/").content.decode()
    assert "School A" in html and "School B" in html and "Other School" not in html


def test_another_schools_or_districts_pages_are_not_found(integrity, page_for):
    d = integrity.d
    campaign = integrity.campaign()
    assert page_for(d.school_b_user).get(f"/integrity/registers/{d.school_a.pk}/").status_code == 404
    assert page_for(d.other_supervisor).get(f"/integrity/registers/{d.school_a.pk}/").status_code == 404
    assert page_for(d.other_school_user).get(f"/integrity/campaigns/{campaign.pk}/").status_code == 404
    assert page_for(d.school_a_user).get("/integrity/registers/999999/").status_code == 404
    lists = page_for(d.school_b_user).get("/integrity/lists/").content.decode()
    assert "校本课程选用" not in lists and "招生录取" in lists  # School A's own item stays School A's
    assert page_for(None).get("/integrity/campaigns/").status_code == 302  # to the login


# --- The lists ----------------------------------------------------------------------------------------------
def test_a_supervisor_adds_an_item_and_an_inspector_may_not(integrity, page_for):
    d = integrity.d
    body = {"action": "create", "unit": d.bureau.pk, "list": "negative", "code": "N09", "title": "违规收取资料费"}
    response = page_for(d.supervisor).post("/integrity/lists/", body)
    assert response.status_code == 302
    assert m.ListItem.objects.filter(unit=d.bureau, code="N09").exists()
    assert page_for(d.inspector).post("/integrity/lists/", {**body, "code": "N10"}).status_code == 403
    duplicate = page_for(d.supervisor).post("/integrity/lists/", body)
    assert duplicate.status_code == 400 and "已有此编号" in _messages(duplicate)


# --- The register -------------------------------------------------------------------------------------------
def test_a_school_screens_its_risks_and_submits_its_register(integrity, page_for):
    d = integrity.d
    school = page_for(d.school_a_user)
    url = f"/integrity/registers/{d.school_a.pk}/"
    no_map = school.post(url, _risk_form(item=integrity.m2.pk, step_1="", role_1="", step_2="", role_2=""))
    assert no_map.status_code == 400 and "流程图" in _messages(no_map)
    assert school.post(url, _risk_form(item=integrity.m2.pk)).status_code == 302
    risk = m.RiskPoint.objects.get()
    assert risk.process_map == [
        {"step": "民主推荐", "role": "班委会", "control": False},
        {"step": "集体审定", "role": "德育处", "control": True},
    ]
    assert risk.measures == ["班委会民主评议", "结果公示"]
    assert page_for(d.supervisor).post(url, _risk_form(item=integrity.m2.pk)).status_code == 403
    assert school.post(url, {"action": "approve"}).status_code == 403
    assert school.post(url, {"action": "submit"}).status_code == 302
    assert m.Register.objects.get(school=d.school_a).status == "submitted"
    locked = school.post(url, _risk_form(item=integrity.m1.pk))
    assert locked.status_code == 409 and "退回前不能修改" in _messages(locked)
    # The supervisor returns it with a reason (a reason is needed), then the school may edit again.
    supervisor = page_for(d.supervisor)
    assert supervisor.post(url, {"action": "return", "reason": ""}).status_code == 400
    assert supervisor.post(url, {"action": "return", "reason": "请补充任课教师岗位"}).status_code == 302
    assert "请补充任课教师岗位" in school.get(url).content.decode()
    edit = _risk_form(item=integrity.m2.pk, level="low", action="edit_risk", risk=risk.pk)
    assert school.post(url, edit).status_code == 302
    assert m.RiskPoint.objects.get().level == "low"
    assert [e.type for e in m.Event.objects.filter(subject_type="register").order_by("id")] == [
        "register.submitted",
        "register.returned",
    ]


def test_an_empty_register_cannot_be_submitted(integrity, page_for):
    d = integrity.d
    response = page_for(d.school_a_user).post(f"/integrity/registers/{d.school_a.pk}/", {"action": "submit"})
    assert response.status_code == 409 and "还没有风险点" in _messages(response)


# --- The checklist --------------------------------------------------------------------------------------------
def test_a_school_ticks_its_checklist_and_a_finding_opens_a_rectification(integrity, page_for):
    d = integrity.d
    campaign = integrity.campaign()
    url = f"/integrity/campaigns/{campaign.pk}/"
    checks = {
        c.item.code: c for c in m.Check.objects.filter(campaign=campaign, school=d.school_a).select_related("item")
    }
    school = page_for(d.school_a_user)
    page = school.get(url).content.decode()
    assert page.count('name="result" value="ok"') == 4  # one quick "no problem" per item

    ok = school.post(url, {"action": "check", "check": checks["M02"].pk, "result": "ok"})
    assert ok.status_code == 302
    no_deadline = school.post(
        url, {"action": "check", "check": checks["M01"].pk, "result": "finding", "description": "未公示"}
    )
    assert no_deadline.status_code == 400
    # Through htmx: the row comes back alone, with the result and a link to the rectification.
    found = school.post(
        url,
        {
            "action": "check",
            "check": checks["M01"].pk,
            "result": "finding",
            "description": "招生结果未公示",
            "rectify_by": "2030-06-30",
        },
        HTTP_HX_REQUEST="true",
    )
    assert found.status_code == 200
    task = m.Task.objects.get(kind="rectification")
    assert f'href="/tasks/{task.pk}/"' in found.content.decode() and "<html" not in found.content.decode()
    again = school.post(url, {"action": "check", "check": checks["M01"].pk, "result": "ok"})
    assert again.status_code == 409
    assert (
        page_for(d.school_b_user).post(url, {"action": "check", "check": checks["N01"].pk, "result": "ok"}).status_code
        == 404
    )
    assert (
        page_for(d.supervisor).post(url, {"action": "check", "check": checks["N01"].pk, "result": "ok"}).status_code
        == 403
    )
    # The rectification is in the school's task list and its page opens like any task's.
    assert f'href="/tasks/{task.pk}/"' in school.get("/tasks/").content.decode()
    detail = school.get(f"/tasks/{task.pk}/")
    assert detail.status_code == 200 and "招生结果未公示" in detail.content.decode()


def test_a_supervisor_launches_and_activates_a_campaign(integrity, page_for):
    d = integrity.d
    supervisor = page_for(d.supervisor)
    body = {
        "action": "create",
        "authority": d.bureau.pk,
        "title": "负面清单专项自查",
        "lists": ["negative"],
        "due_at": "2030-03-31",
    }
    assert supervisor.post("/integrity/campaigns/", body).status_code == 302
    campaign = m.Campaign.objects.get(title="负面清单专项自查")
    assert campaign.due_at.isoformat() == "2030-03-31T15:59:59+00:00"  # the end of that day in Shanghai
    assert supervisor.post("/integrity/campaigns/", {**body, "lists": []}).status_code == 400
    assert page_for(d.school_a_user).post("/integrity/campaigns/", body).status_code == 403
    assert (
        page_for(d.school_a_user)
        .post("/integrity/campaigns/", {"action": "activate", "campaign": campaign.pk})
        .status_code
        == 403
    )
    assert supervisor.post("/integrity/campaigns/", {"action": "activate", "campaign": campaign.pk}).status_code == 302
    assert m.Check.objects.filter(campaign=campaign).count() == 2  # N01 for Schools A and B
    assert (
        page_for(d.other_supervisor)
        .post("/integrity/campaigns/", {"action": "activate", "campaign": campaign.pk})
        .status_code
        == 404
    )
