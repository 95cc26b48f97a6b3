"""Deadline fairness on the pages (CONTRACT section 7, item 5): a school asks for more time and appeals
from its task page, supervisors decide on /requests/ (oldest first), at-risk tasks carry a badge and the
dashboard an at-risk column. Writes go through the API's services and are refused with the API's codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from tests.factories import EvidenceFactory, MembershipFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.assessment.appeal_services import appeal_create
from tracker.assessment.extension_services import extension_request_create

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # the district's tasks, set on 2026-01-05
D = timedelta(days=1)


def _messages(response) -> str:
    match = re.search(r'<ul class="messages"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    return match.group(1) if match else ""


def _ask(district, task, *, days=10, at=DUE - 3 * D):
    return extension_request_create(
        task=task, actor=district.school_a_user, requested_due_at=DUE + days * D, reason="停电", now=at
    )


@pytest.fixture
def approved(district, task_a) -> m.Task:
    """School A's task approved with D1 (score 8) by the district's supervisor, a day ago."""
    EvidenceFactory(task=task_a)
    task_services.task_submit(task=task_a, actor=district.school_a_user, now=DUE - 2 * D)
    return task_services.task_approve(task=task_a, actor=district.supervisor, deductions=["D1"], now=DUE - D)


# --- A school asks for more time ---------------------------------------------------------------------------
@freeze_time(DUE - 5 * D)
def test_a_school_requests_an_extension_from_its_task_page(district, page_for, task_a):
    client = page_for(district.school_a_user)
    page = client.get(f"/tasks/{task_a.pk}/").content.decode()
    assert 'value="request_extension"' in page and 'name="requested_due_at"' in page

    response = client.post(
        f"/tasks/{task_a.pk}/", {"action": "request_extension", "requested_due_at": "2026-07-10", "reason": "停电"}
    )

    assert response.status_code == 302
    asked = m.ExtensionRequest.objects.get(task=task_a)
    # a bare date is the end of that day in TIME_ZONE
    assert (asked.status, asked.requested_due_at) == ("pending", datetime(2026, 7, 10, 15, 59, 59, tzinfo=UTC))
    page = client.get(f"/tasks/{task_a.pk}/").content.decode()
    assert 'data-request="pending"' in page and "待处理" in page
    assert 'value="request_extension"' not in page  # one pending request at a time
    assert m.Event.objects.filter(task=task_a, type="extension.requested").exists()


def test_a_bad_or_refused_request_is_a_message_with_the_apis_status(district, page_for, task_a):
    client = page_for(district.school_a_user)
    url = f"/tasks/{task_a.pk}/"
    missing = client.post(url, {"action": "request_extension", "requested_due_at": "2026-07-10", "reason": ""})
    assert missing.status_code == 400 and "理由" in _messages(missing)
    earlier = client.post(url, {"action": "request_extension", "requested_due_at": "2026-06-01", "reason": "r"})
    assert earlier.status_code == 400 and "须晚于任务当前的截止时间" in _messages(earlier)
    _ask(district, task_a)
    twice = client.post(url, {"action": "request_extension", "requested_due_at": "2026-07-20", "reason": "r"})
    assert twice.status_code == 409 and "已有一项待处理的延期申请" in _messages(twice)
    assert m.ExtensionRequest.objects.count() == 1


def test_only_the_school_asks_and_only_for_its_own_task(district, page_for, task_a, task_b):
    body = {"action": "request_extension", "requested_due_at": "2026-07-10", "reason": "r"}
    assert page_for(district.school_a_user).post(f"/tasks/{task_b.pk}/", body).status_code == 404
    assert page_for(district.supervisor).post(f"/tasks/{task_a.pk}/", body).status_code == 403
    assert not m.ExtensionRequest.objects.exists()


# --- The supervisors' queue ---------------------------------------------------------------------------------
def test_the_queue_lists_pending_requests_oldest_first_within_scope(district, page_for, task_a, task_b, task_other):
    extension_request_create(
        task=task_b, actor=district.school_b_user, requested_due_at=DUE + 9 * D, reason="b", now=DUE - 9 * D
    )
    _ask(district, task_a, at=DUE - 8 * D)
    extension_request_create(
        task=task_other, actor=district.other_school_user, requested_due_at=DUE + 9 * D, reason="c", now=DUE - 10 * D
    )
    html = page_for(district.supervisor).get("/requests/").content.decode()
    order = [int(pk) for pk in re.findall(r'id="extension-(\d+)"', html)]
    assert order == list(
        m.ExtensionRequest.objects.filter(task__in=[task_b, task_a]).order_by("created_at").values_list("pk", flat=True)
    )
    assert "Other School" not in html  # another district's school
    assert html.count('value="decide_extension"') == 2
    inspector = page_for(district.inspector).get("/requests/").content.decode()
    assert 'id="extension-' in inspector and 'value="decide_extension"' not in inspector  # read only
    assert page_for(district.school_a_user).get("/requests/").status_code == 403


def test_a_supervisor_approves_a_request_and_the_task_is_extended(district, page_for, task_a):
    asked = _ask(district, task_a)
    client = page_for(district.supervisor)
    body = {"action": "decide_extension", "request": asked.pk, f"x{asked.pk}-decision": "approve"}

    invalid = client.post("/requests/", body)  # no comment
    assert invalid.status_code == 400 and "意见" in _messages(invalid)
    done = client.post("/requests/", {**body, f"x{asked.pk}-comment": "同意"})

    assert done.status_code == 302
    task_a.refresh_from_db()
    assert (task_a.due_at, task_a.extensions, task_a.original_due_at) == (DUE + 10 * D, 1, DUE)
    again = client.post("/requests/", {**body, f"x{asked.pk}-comment": "again"})
    assert again.status_code == 409 and "已处理" in _messages(again)
    # another district's supervisor finds nothing to decide
    other = page_for(district.other_supervisor).post("/requests/", {**body, f"x{asked.pk}-comment": "x"})
    assert other.status_code == 404
    assert page_for(district.inspector).post("/requests/", {**body, f"x{asked.pk}-comment": "x"}).status_code == 403


# --- Appeals ---------------------------------------------------------------------------------------------------
def test_a_school_appeals_and_a_second_supervisor_amends_the_score(district, page_for, approved):
    second = MembershipFactory(unit=district.bureau, role=m.Role.SUPERVISOR).user
    school = page_for(district.school_a_user)
    with freeze_time(DUE):
        page = school.get(f"/tasks/{approved.pk}/").content.decode()
        assert 'value="appeal"' in page and 'name="contested" value="D1"' in page
        response = school.post(f"/tasks/{approved.pk}/", {"action": "appeal", "contested": ["D1"], "reason": "已补"})
    assert response.status_code == 302
    appeal = m.Appeal.objects.get(task=approved)
    body = {
        "action": "decide_appeal",
        "appeal": appeal.pk,
        f"a{appeal.pk}-decision": "amend",
        f"a{appeal.pk}-comment": "撤销",
    }

    same = page_for(district.supervisor).post("/requests/", body)
    assert same.status_code == 403 and "其他督导人员" in _messages(same)
    done = page_for(second).post("/requests/", body)  # no deduction ticked: D1 withdrawn

    assert done.status_code == 302
    approved.refresh_from_db()
    assert (approved.score, approved.deductions) == (10, [])
    page = school.get(f"/tasks/{approved.pk}/").content.decode()
    assert 'id="ledger"' in page and "撤回" in page and 'data-appeal="amended"' in page
    assert "决定申诉" in page or "处理申诉" in page  # the decision in the history


def test_no_appeal_form_after_the_window_nor_for_another_school(district, page_for, approved, task_b):
    with freeze_time(DUE - D + 7 * D + timedelta(minutes=1)):
        page = page_for(district.school_a_user).get(f"/tasks/{approved.pk}/").content.decode()
        assert 'value="appeal"' not in page
        late = page_for(district.school_a_user).post(
            f"/tasks/{approved.pk}/", {"action": "appeal", "contested": ["D1"], "reason": "r"}
        )
    assert late.status_code == 409 and "申诉期限已于" in _messages(late)
    with freeze_time(DUE):
        appeal = appeal_create(task=approved, actor=district.school_a_user, reason="r", contested=["D1"])
    body = {"action": "decide_appeal", "appeal": appeal.pk, f"a{appeal.pk}-decision": "uphold"}
    assert page_for(district.other_supervisor).post("/requests/", body).status_code == 404


# --- At risk --------------------------------------------------------------------------------------------------
@freeze_time(DUE - 5 * D)
def test_at_risk_tasks_carry_a_badge_a_filter_and_a_dashboard_column(district, page_for, task_a, task_b):
    task_services.task_progress(task=task_b, actor=district.school_b_user, progress=95)
    supervisor = page_for(district.supervisor)

    risky = supervisor.get(f"/tasks/{task_a.pk}/").content.decode()
    safe = supervisor.get(f"/tasks/{task_b.pk}/").content.decode()
    assert "data-at-risk" in risky and "有逾期风险" in risky
    assert "data-at-risk" not in safe
    listed = supervisor.get("/tasks/", {"status": "at_risk"}).content.decode()
    assert f'href="/tasks/{task_a.pk}/"' in listed and f'href="/tasks/{task_b.pk}/"' not in listed
    dashboard = supervisor.get("/dashboard/").content.decode()
    cells = re.findall(r'data-column="at-risk">(?:<span class="soon">)?(\d+)', dashboard)
    assert sorted(cells) == ["0", "1"]  # School A 1, School B 0
    school = page_for(district.school_a_user, language="en").get(f"/tasks/{task_a.pk}/").content.decode()
    assert ">At risk<" in school
