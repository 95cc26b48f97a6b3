"""The integrity pages in a real browser: a register's process maps drawn as flowcharts, the campaign's
dashboard charts, and a school ticking its checklist on a phone (one tap per item, a finding in a few
fields), with no sideways scrolling and nothing loaded from another origin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tracker import models as m
from tracker.integrity.campaign_services import campaign_activate, campaign_create
from tracker.integrity.register_services import risk_create

from .conftest import DESKTOP, PHONE
from .test_flows import _assert_charts_drawn

pytestmark = [pytest.mark.serial, pytest.mark.browser]

STEPS = [
    {"step": "报名登记", "role": "招生办", "control": False},
    {"step": "资格审核", "role": "教务处", "control": True},
    {"step": "集体研究", "role": "校务会", "control": True},
    {"step": "结果公示", "role": "办公室", "control": False},
]


@pytest.fixture
def integrity_demo(demo):
    """The browser demo's bureau publishes three items; its first school screens two risks (one high,
    with a process map); a campaign over both lists is under way."""
    bureau, school, user = demo.bureau, demo.schools[0], demo.school_users[0]
    items = [
        m.ListItem.objects.create(
            unit=bureau, list="micro_power", code="W01", title="新生招生录取", category="招生管理"
        ),
        m.ListItem.objects.create(
            unit=bureau, list="micro_power", code="W09", title="物资设备采购", category="物资采购"
        ),
        m.ListItem.objects.create(unit=bureau, list="negative", code="F02", title="教师有偿补课", category="师德师风"),
    ]
    risk_create(
        actor=user,
        school=school,
        item=items[0],
        post="leader",
        description="招生计划外擅自录取",
        level="high",
        measures=["招生方案集体研究", "录取结果公示"],
        process_map=STEPS,
    )
    risk_create(
        actor=user,
        school=school,
        item=items[1],
        post="middle_manager",
        description="验收走过场",
        level="medium",
        measures=["三人验收"],
    )
    campaign = campaign_create(
        actor=demo.supervisor,
        authority=bureau,
        title="“两张清单”逐项自查",
        lists=["micro_power", "negative"],
        due_at=timezone.now() + timedelta(days=20),
    )
    campaign_activate(actor=demo.supervisor, campaign=campaign)
    return campaign


def test_the_register_draws_its_process_map_and_the_campaign_its_charts(demo, integrity_demo, open_session):
    s = open_session(viewport=DESKTOP, locale="en-US")
    s.login("bureau")
    s.go(f"/integrity/registers/{demo.schools[0].pk}/")
    risk = m.RiskPoint.objects.get(level="high")
    _assert_charts_drawn(s, {"levels", f"map-{risk.pk}"})
    width, height = s.charts_drawn()[f"map-{risk.pk}"]
    assert height > 4 * 60  # four steps, one under the other
    expect(s.page.locator("h1")).to_contain_text(demo.schools[0].name)
    s.shot("register")

    s.go(f"/integrity/campaigns/{integrity_demo.pk}/")
    _assert_charts_drawn(s, {"progress", "rectifications"})
    expect(s.page.locator("#schools")).to_contain_text(demo.schools[0].name)
    assert s.scroll_width() <= DESKTOP["width"]
    s.shot("campaign-dashboard")


def test_a_school_ticks_its_checklist_on_a_phone(demo, integrity_demo, open_session):
    s = open_session(viewport=PHONE)
    s.login("school1")
    s.go(f"/integrity/campaigns/{integrity_demo.pk}/")
    assert s.scroll_width() <= PHONE["width"]
    checks = {c.item.code: c for c in m.Check.objects.filter(campaign=integrity_demo, school=demo.schools[0])}

    # One tap: no problem (swapped in place by htmx).
    row = s.page.locator(f"#check-{checks['W09'].pk}")
    row.locator("button[value=ok]").click()
    expect(s.page.locator(f"#check-{checks['W09'].pk} .badge")).to_have_text("无问题")
    expect(s.page.locator("#checklist-count")).to_contain_text("已自查1项，共3项")

    # A finding: open its form, describe it, set the deadline.
    row = s.page.locator(f"#check-{checks['F02'].pk}")
    row.locator("summary").click()
    row.locator("textarea[name=description]").fill("一名教师周末参与有偿补课")
    row.locator("input[name=rectify_by]").fill((timezone.localdate() + timedelta(days=30)).isoformat())
    row.locator("button[value=finding]").click()
    expect(s.page.locator(f"#check-{checks['F02'].pk} .badge")).to_have_text("发现问题")
    assert s.scroll_width() <= PHONE["width"]
    s.shot("checklist")

    task = m.Task.objects.get(kind="rectification", school=demo.schools[0])
    assert task.requirement == "一名教师周末参与有偿补课" and task.campaign == integrity_demo
    assert m.Check.objects.get(pk=checks["W09"].pk).result == "ok"
    # The rectification is in the school's task list.
    s.go("/tasks/")
    expect(s.page.locator("#rectifications")).to_contain_text("F02 教师有偿补课")
