"""Each role's main flow in a real browser, both languages, phone width, charts drawn, scope 404.

Run alone: bin/test -m browser tests/web/browser (screenshots in var/artifacts/screenshots/).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.samples import pdf_bytes
from tracker import models as m

from .conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.serial, pytest.mark.browser]


def _assert_charts_drawn(session, names: set[str]) -> None:
    session.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every(el => el.dataset.drawn === 'true')"
    )
    drawn = session.charts_drawn()
    assert set(drawn) == names
    for name, (width, height) in drawn.items():
        assert width > 0 and height > 0, name


def test_a_school_does_its_work_on_a_phone_in_chinese(demo, open_session):
    s = open_session(viewport=PHONE)
    s.login("school1")
    assert s.page.url.endswith("/tasks/")
    expect(s.page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert s.scroll_width() <= 390
    s.shot("tasks")

    s.page.click(f"a[href='/tasks/{demo.fresh.pk}/']")
    s.page.wait_for_load_state("networkidle")
    assert s.scroll_width() <= 390
    status = s.page.locator("[data-status]")
    expect(status).to_have_text("未开始")

    # Submitting without evidence is refused in place: a 409, its message on the page.
    s.watch.expected_statuses.add(409)
    s.page.click("button[name=action][value=submit]")
    expect(s.page.locator("#messages .error")).to_contain_text("提交前至少需上传1份佐证材料，目前只有0份")
    expect(status).to_have_text("未开始")

    s.page.click("button[name=action][value=start]")
    expect(status).to_have_text("进行中")
    s.page.fill("input[name=progress]", "80")
    s.page.fill("textarea[name=note]", "活动方案已定稿")
    s.page.click("button[name=action][value=progress]")
    expect(s.page.locator("#messages .success")).to_contain_text("进度已保存")
    s.page.set_input_files(
        "input[name=file]", files=[{"name": "活动方案.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
    )
    s.page.click("button[name=action][value=upload]")
    expect(s.page.locator("#evidence")).to_contain_text("活动方案.pdf")
    s.page.click("button[name=action][value=submit]")
    expect(status).to_have_text("已提交")
    expect(s.page.locator("#history")).to_contain_text("提交审核")
    assert s.scroll_width() <= 390
    s.shot("task-submitted")

    demo.fresh.refresh_from_db()
    assert demo.fresh.status == m.TaskStatus.SUBMITTED and demo.fresh.progress == 80
    types = list(m.Event.objects.filter(task=demo.fresh).order_by("id").values_list("type", flat=True))
    assert types == ["task.started", "task.progressed", "evidence.uploaded", "task.submitted"]


def test_a_supervisor_reviews_and_urges_on_a_desktop(demo, open_session):
    s = open_session(viewport=DESKTOP)
    s.login("bureau")
    assert s.page.url.endswith("/dashboard/")
    _assert_charts_drawn(s, {"completion", "status", "trend"})
    expect(s.page.locator("#ranking tbody tr")).to_have_count(len(demo.schools))
    s.shot("dashboard")

    # from the ranking to a school, to the task waiting for review
    s.page.click(f"#ranking a[href^='/schools/{demo.schools[0].pk}/']")
    s.page.wait_for_load_state("networkidle")
    expect(s.page.locator("h1")).to_have_text(demo.schools[0].name)
    s.shot("school")
    s.page.click(f"a[href='/tasks/{demo.submitted.pk}/']")
    s.page.wait_for_load_state("networkidle")
    s.page.check("input[name=deductions][value=D1]")
    s.page.fill("textarea[name=comment]", "谈话记录齐全，签字不全")
    s.page.click("button[name=action][value=approve]")
    expect(s.page.locator("[data-status]")).to_have_text("已通过")
    expect(s.page.locator("#messages .success")).to_contain_text("已审核通过，得分：8")
    s.shot("task-approved")

    # urge a lagging school that nobody has urged yet
    lagging = demo.schools[3]
    s.go(f"/schools/{lagging.pk}/")
    s.page.click("text=督办该校")
    s.page.wait_for_load_state("networkidle")
    expect(s.page.locator("select[name=school]")).to_have_value(str(lagging.pk))
    s.page.fill("textarea[name=message]", "请于三日内说明逾期原因并提交整改计划。")
    s.page.fill("input[name=respond_by]", (timezone.localdate() + timedelta(days=3)).isoformat())
    with s.page.expect_navigation():
        s.page.click("button[name=action][value=urge]")
    expect(s.page.locator("#messages .success")).to_contain_text(f"已督办{lagging.name}")
    s.shot("urges")

    demo.submitted.refresh_from_db()
    assert demo.submitted.status == m.TaskStatus.APPROVED and demo.submitted.score == 8
    assert m.Urge.objects.filter(school=lagging, created_by=demo.supervisor).exists()


def test_an_inspector_reads_the_oversight_in_english(demo, open_session):
    s = open_session(viewport=DESKTOP, locale="en-US")
    s.login("jjz")
    assert s.page.url.endswith("/oversight/")
    expect(s.page.locator("html")).to_have_attribute("lang", "en")
    _assert_charts_drawn(s, {"oversight"})
    expect(s.page.locator("h1")).to_have_text("Oversight")
    rows = s.page.locator("tbody tr")
    expect(rows).to_have_count(3)  # three schools fell behind
    expect(rows.first).to_contain_text("Breach")
    expect(s.page.locator("main")).to_contain_text("Not urged, past the limit")
    s.shot("oversight")
    s.go("/dashboard/")
    _assert_charts_drawn(s, {"completion", "status", "trend"})
    s.shot("dashboard")
    s.go("/urges/")
    expect(s.page.locator("main")).to_contain_text("Answered")
    assert s.page.locator("button[name=action]").count() == 0  # the inspector only reads
    s.shot("urges")


def test_an_inspector_works_a_case_and_a_school_reads_the_notice_on_a_phone(demo, open_session):
    s = open_session(viewport=PHONE)
    s.login("jjz")
    s.go("/inspections/")
    _assert_charts_drawn(s, {"inspections"})
    expect(s.page.locator("tbody tr")).to_have_count(2)  # the two rounds of 2020
    expect(s.page.locator(".kpis")).to_contain_text("7")  # person-visits: 4 + 3
    s.shot("inspections")
    s.go(f"/cases/{demo.case.pk}/")
    s.page.select_option("#id_status", "investigating")
    with s.page.expect_navigation():
        s.page.click("button[name=action][value=status]")
    expect(s.page.locator("#messages .success")).to_contain_text("案件已推进")
    demo.case.refresh_from_db()
    assert demo.case.status == m.CaseStatus.INVESTIGATING
    s.shot("case")

    school = open_session(viewport=PHONE)
    school.watch.expected_statuses.add(404)
    school.login("school6")
    school.page.click("nav a[href='/notices/']")
    expect(school.page.locator("h1")).to_have_text("通报")
    expect(school.page.locator("main")).to_contain_text("张某")
    assert "张三" not in school.page.content()
    school.shot("notices")
    school.go(f"/cases/{demo.published.pk}/", status=404)


def test_another_schools_task_and_page_are_not_found(demo, open_session):
    s = open_session(viewport=PHONE)
    s.watch.expected_statuses.add(404)
    s.login("school1")
    other = m.Task.objects.filter(school=demo.schools[1]).first()
    s.go(f"/tasks/{other.pk}/", status=404)
    expect(s.page.locator("h1")).to_have_text("页面不存在")
    s.go(f"/schools/{demo.schools[1].pk}/", status=404)
    s.shot("not-found")


def test_the_language_switcher_changes_the_language(demo, open_session):
    s = open_session(viewport=PHONE)
    s.login("school1")
    expect(s.page.locator("nav a").first).to_have_text("任务")
    with s.page.expect_navigation():
        s.page.click("button[name=language][value=en]")
    expect(s.page.locator("html")).to_have_attribute("lang", "en")
    expect(s.page.locator("nav a").first).to_have_text("Tasks")
    assert s.page.url.endswith("/tasks/")
    with s.page.expect_navigation():
        s.page.click("button[name=language][value=zh-hans]")
    expect(s.page.locator("html")).to_have_attribute("lang", "zh-hans")


def test_the_unread_count_goes_down_as_notifications_are_read(demo, open_session):
    s = open_session(viewport=PHONE)
    s.login("school6")
    badge = s.page.locator("#unread .count")
    unread = int(badge.inner_text())
    assert unread > 0
    s.go("/notifications/")
    s.shot("notifications")
    s.page.locator("#notifications button:has-text('标为已读')").first.click()
    expect(badge).to_have_text(str(unread - 1))
    s.page.click("button[name=action][value=read_all]")
    expect(badge).to_have_text("0")
    expect(s.page.locator("#messages .success")).to_contain_text("标为已读")


def test_a_school_asks_for_time_on_a_phone_and_the_bureau_grants_it_on_a_desktop(demo, open_session):
    task = demo.fresh  # school 1's criterion 04, due in 20 days
    school = open_session(viewport=PHONE)
    school.login("school1")
    school.go(f"/tasks/{task.pk}/")
    asked_for = (timezone.localtime(task.due_at) + timedelta(days=14)).date()
    school.page.fill("input[name=requested_due_at]", asked_for.isoformat())
    school.page.fill("#fairness textarea[name=reason]", "校园改造施工，活动需延后两周。")
    school.page.click("button[name=action][value=request_extension]")
    expect(school.page.locator("#messages .success")).to_contain_text("已申请延期")
    expect(school.page.locator("#fairness [data-request=pending]")).to_contain_text("待处理")
    assert school.scroll_width() <= 390
    school.shot("extension-requested")

    bureau = open_session(viewport=DESKTOP)
    bureau.login("bureau")
    bureau.go("/requests/")
    asked = m.ExtensionRequest.objects.get(task=task)
    # oldest first: school 4's request (five hours old) above school 1's (just now)
    expect(bureau.page.locator("#extension-requests li").first).to_have_id(f"extension-{demo.asked.pk}")
    row = bureau.page.locator(f"#extension-{asked.pk}")
    expect(row).to_contain_text(demo.schools[0].name)
    row.locator("input[value=approve]").check()
    row.locator("textarea").fill("同意延期。")
    row.locator("button[name=action][value=decide_extension]").click()
    expect(bureau.page.locator("#messages .success")).to_contain_text("已批准延期")
    expect(bureau.page.locator(f"#extension-{asked.pk}")).to_have_count(0)
    bureau.shot("requests")

    school.go(f"/tasks/{task.pk}/")
    expect(school.page.locator("#fairness [data-request=approved]")).to_contain_text("已批准")
    task.refresh_from_db()
    assert (task.extensions, timezone.localtime(task.due_at).date()) == (1, asked_for)
    assert task.original_due_at < task.due_at


# (label, path) of every page of each role
PAGES = {
    "school1": [
        ("tasks", "/tasks/"),
        ("task", "/tasks/{fresh}/"),
        ("school", "/schools/{school}/"),
        ("urges", "/urges/"),
        ("notifications", "/notifications/"),
        ("notices", "/notices/"),
        ("integrity-register", "/integrity/registers/{school}/"),
        ("integrity-campaigns", "/integrity/campaigns/"),
        ("integrity-lists", "/integrity/lists/"),
    ],
    "bureau": [
        ("dashboard", "/dashboard/"),
        ("tasks", "/tasks/"),
        ("task-review", "/tasks/{submitted}/"),
        ("school", "/schools/{school}/"),
        ("urges", "/urges/"),
        ("oversight", "/oversight/"),
        ("requests", "/requests/"),
        ("inspections", "/inspections/"),
        ("cases", "/cases/"),
        ("case-read", "/cases/{published}/"),
        ("notices", "/notices/"),
        ("integrity-registers", "/integrity/registers/"),
        ("integrity-campaigns", "/integrity/campaigns/"),
        ("integrity-lists", "/integrity/lists/"),
    ],
    "jjz": [
        ("oversight", "/oversight/"),
        ("dashboard", "/dashboard/"),
        ("requests", "/requests/"),
        ("notifications", "/notifications/"),
        ("inspections", "/inspections/"),
        ("inspections-empty", "/inspections/?year=2021"),
        ("cases", "/cases/"),
        ("case", "/cases/{case}/"),
        ("notices", "/notices/"),
        ("integrity-registers", "/integrity/registers/"),
        ("integrity-campaigns", "/integrity/campaigns/"),
        ("integrity-lists", "/integrity/lists/"),
        ("event-log-check", "/audit/verify/"),
    ],
}


@pytest.mark.parametrize("username", list(PAGES))
def test_every_page_fits_a_phone_and_a_desktop(demo, open_session, username):
    ids = {
        "fresh": demo.fresh.pk,
        "submitted": demo.submitted.pk,
        "school": demo.schools[0].pk,
        "case": demo.case.pk,
        "published": demo.published.pk,
    }
    for viewport, locale in ((PHONE, "zh-CN"), (DESKTOP, "en-US")):
        s = open_session(viewport=viewport, locale=locale, name=f"{username}-{viewport['width']}-{locale}")
        s.login(username)
        for label, path in PAGES[username]:
            url = path.format(**ids)
            s.go(url)
            if s.page.locator("[data-chart]").count():
                _assert_charts_drawn(s, set(s.charts_drawn()))
            width = s.scroll_width()
            assert width <= viewport["width"], (url, width)
            s.shot(label)
