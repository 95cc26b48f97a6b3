"""The task list and the task page: what each role sees, each action, and every refusal as a message
with the API's status code (403 role, 400 form, 409 state, 413 size, 415 type)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.factories import EvidenceFactory
from tests.samples import upload
from tracker import models as m
from tracker.assessment.task_services import task_start, task_submit

pytestmark = pytest.mark.django_db


def _url(task: m.Task) -> str:
    return f"/tasks/{task.pk}/"


def _messages(response) -> str:
    match = re.search(r'<ul class="messages"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    return match.group(1) if match else ""


# --- The list -------------------------------------------------------------------------------------------
def test_a_school_lists_its_own_tasks_with_code_title_status_deadline_and_days(district, page_for, task_a):
    html = page_for(district.school_a_user).get("/tasks/").content.decode()
    criterion = district.criterion
    assert f"{criterion.code} {criterion.title}" in html
    assert f'href="/tasks/{task_a.pk}/"' in html
    assert "未开始" in html  # the status, in Chinese
    assert "2027-01-01 00:00" not in html and "2026-07-01 00:00" in html  # due 16:00 UTC = 00:00 in Shanghai
    assert "逾期" in html  # the deadline passed in June 2026


def test_overdue_tasks_come_first(district, page_for, task_a):
    later = m.Criterion.objects.create(
        cycle=district.cycle,
        code="Z9",
        title="Due next decade",
        category="x",
        due_at=datetime(2036, 1, 1, tzinfo=UTC),
        max_score=5,
    )
    set_at = datetime(2026, 1, 5, tzinfo=UTC)
    m.Task.objects.create(
        cycle=district.cycle,
        criterion=later,
        school=district.school_a,
        due_at=later.due_at,
        original_due_at=later.due_at,
        due_set_at=set_at,
    )
    earlier = m.Criterion.objects.create(
        cycle=district.cycle,
        code="A0",
        title="Due last year",
        category="x",
        due_at=datetime(2025, 1, 1, tzinfo=UTC),
        max_score=5,
    )
    approved = m.Task.objects.create(
        cycle=district.cycle,
        criterion=earlier,
        school=district.school_a,
        due_at=earlier.due_at,
        original_due_at=earlier.due_at,
        due_set_at=set_at,
        status=m.TaskStatus.APPROVED,
    )
    html = page_for(district.school_a_user).get("/tasks/").content.decode()
    order = [int(pk) for pk in re.findall(r'href="/tasks/(\d+)/"', html)]
    # overdue (task_a) first; then by deadline: the approved one from 2025 (not overdue), the 2036 one last
    assert order[0] == task_a.pk
    assert order.index(approved.pk) < len(order) - 1


def test_the_list_filters_by_status(district, page_for, task_a):
    client = page_for(district.school_a_user)
    assert f"/tasks/{task_a.pk}/" in client.get("/tasks/?status=not_started").content.decode()
    assert f"/tasks/{task_a.pk}/" in client.get("/tasks/?status=overdue").content.decode()
    assert f"/tasks/{task_a.pk}/" not in client.get("/tasks/?status=approved").content.decode()


def test_supervisors_and_inspectors_list_every_school_of_their_district(district, page_for, task_a, task_b):
    for user in (district.supervisor, district.inspector):
        html = page_for(user).get("/tasks/").content.decode()
        assert f"/tasks/{task_a.pk}/" in html and f"/tasks/{task_b.pk}/" in html
        assert "School A" in html and "School B" in html


# --- What the task page offers --------------------------------------------------------------------------
def test_the_school_sees_the_contracts_fields_and_buttons(district, page_for, task_a):
    html = page_for(district.school_a_user).get(_url(task_a)).content.decode()
    assert district.criterion.requirement in html
    assert '<input type="file" name="file"' in html
    assert 'name="progress"' in html and 'name="note"' in html
    assert '<button type="submit" name="action" value="start"' in html
    assert '<button type="submit" name="action" value="submit"' in html
    assert 'value="approve"' not in html  # not the school's
    # deduction rules are shown; the original and the current deadline
    assert "D1" in html and "incomplete" in html
    assert html.count("2026-07-01 00:00") >= 2


def test_the_supervisor_reviews_a_submitted_task(district, page_for, task_a):
    EvidenceFactory(task=task_a)
    task_submit(task=task_a, actor=district.school_a_user)
    html = page_for(district.supervisor).get(_url(task_a)).content.decode()
    assert '<input type="checkbox" name="deductions" value="D1"' in html
    assert '<input type="checkbox" name="deductions" value="D2"' in html
    assert 'name="comment"' in html and 'value="approve"' in html
    assert 'name="reason"' in html and 'name="rework_due_at"' in html and 'value="return"' in html
    assert 'name="due_at"' in html and 'value="extend"' in html
    assert 'name="file"' not in html  # not the supervisor's
    # the evidence is listed with its download link
    assert f"/api/v1/evidence/{task_a.evidence.get().pk}/download/" in html


def test_the_inspector_reads_but_acts_on_nothing(district, page_for, task_a):
    html = page_for(district.inspector).get(_url(task_a)).content.decode()
    assert district.criterion.title in html
    assert 'name="action"' not in html


# --- Writes ---------------------------------------------------------------------------------------------
def test_the_school_starts_reports_progress_uploads_and_submits(district, page_for, task_a):
    client = page_for(district.school_a_user)
    response = client.post(_url(task_a), {"action": "start"})
    assert response.status_code == 302 and response["Location"] == _url(task_a)
    assert "已开始办理" in _messages(client.get(_url(task_a)))
    response = client.post(_url(task_a), {"action": "progress", "progress": "60", "note": "会议纪要整理中"})
    assert response.status_code == 302
    response = client.post(_url(task_a), {"action": "upload", "file": upload("pdf", name="会议纪要.pdf")})
    assert response.status_code == 302
    response = client.post(_url(task_a), {"action": "submit"})
    assert response.status_code == 302
    task_a.refresh_from_db()
    assert task_a.status == m.TaskStatus.SUBMITTED
    assert task_a.progress == 60 and task_a.note == "会议纪要整理中"
    assert task_a.evidence.get().filename == "会议纪要.pdf"
    history = client.get(_url(task_a)).content.decode()
    for text in ("开始办理", "报告进度", "上传佐证材料", "提交审核", "会议纪要.pdf"):
        assert text in history


def test_submitting_without_evidence_is_a_409_message_on_the_page(district, page_for, task_a):
    response = page_for(district.school_a_user).post(_url(task_a), {"action": "submit"})
    assert response.status_code == 409
    assert "提交前至少需上传1份佐证材料，目前只有0份" in _messages(response)
    task_a.refresh_from_db()
    assert task_a.status == m.TaskStatus.NOT_STARTED


def test_a_wrong_state_is_a_409_naming_the_status_and_what_is_possible(district, page_for, task_a):
    task_start(task=task_a, actor=district.school_a_user)
    response = page_for(district.school_a_user).post(_url(task_a), {"action": "start"})
    assert response.status_code == 409
    text = _messages(response)
    assert "进行中" in text and "开始办理" in text and "提交" in text


def test_a_wrong_role_is_a_403_message(district, page_for, task_a):
    response = page_for(district.inspector).post(_url(task_a), {"action": "start"})
    assert response.status_code == 403
    assert "只有本校人员" in _messages(response)
    response = page_for(district.school_a_user).post(_url(task_a), {"action": "approve"})
    assert response.status_code == 403
    assert "教育局" in _messages(response)
    task_a.refresh_from_db()
    assert task_a.status == m.TaskStatus.NOT_STARTED


def test_bad_input_is_a_400_with_the_field_named(district, page_for, task_a):
    client = page_for(district.school_a_user)
    response = client.post(_url(task_a), {"action": "progress", "progress": "150"})
    assert response.status_code == 400
    assert "进度" in _messages(response)
    assert 'class="field invalid"' in response.content.decode()
    response = client.post(_url(task_a), {"action": "teleport"})
    assert response.status_code == 400
    assert not m.Event.objects.filter(task=task_a).exists()


def test_a_file_type_not_allowed_is_415_and_too_large_413(district, page_for, task_a):
    client = page_for(district.school_a_user)
    with override_settings(EVIDENCE_ALLOWED_TYPES=["pdf"]):
        response = client.post(_url(task_a), {"action": "upload", "file": upload("png")})
    assert response.status_code == 415
    assert "不接受此类文件" in _messages(response)
    with override_settings(EVIDENCE_MAX_BYTES=100):
        response = client.post(_url(task_a), {"action": "upload", "file": upload("pdf")})
    assert response.status_code == 413
    assert "文件过大" in _messages(response)
    assert not task_a.evidence.exists()


def test_the_supervisor_approves_with_deductions(district, page_for, task_a):
    EvidenceFactory(task=task_a)
    task_submit(task=task_a, actor=district.school_a_user, now=datetime(2026, 6, 1, tzinfo=UTC))
    response = page_for(district.supervisor).post(
        _url(task_a), {"action": "approve", "deductions": ["D1", "D2"], "comment": "材料齐全"}
    )
    assert response.status_code == 302
    task_a.refresh_from_db()
    assert task_a.status == m.TaskStatus.APPROVED
    assert str(task_a.score) == "4.50"  # 10 - 2 - 3.5, submitted on time
    assert task_a.review_comment == "材料齐全"


def test_an_unknown_deduction_is_a_400(district, page_for, task_a):
    EvidenceFactory(task=task_a)
    task_submit(task=task_a, actor=district.school_a_user)
    response = page_for(district.supervisor).post(_url(task_a), {"action": "approve", "deductions": ["D9"]})
    assert response.status_code == 400
    task_a.refresh_from_db()
    assert task_a.status == m.TaskStatus.SUBMITTED


def test_the_supervisor_returns_with_a_rework_date_meaning_the_end_of_that_day(district, page_for, task_a):
    EvidenceFactory(task=task_a)
    task_submit(task=task_a, actor=district.school_a_user)
    client = page_for(district.supervisor)
    response = client.post(_url(task_a), {"action": "return", "reason": "", "rework_due_at": "2030-01-10"})
    assert response.status_code == 400  # a return needs a reason
    response = client.post(_url(task_a), {"action": "return", "reason": "缺少签到表", "rework_due_at": "2030-01-10"})
    assert response.status_code == 302
    task_a.refresh_from_db()
    assert task_a.status == m.TaskStatus.RETURNED
    assert timezone.localtime(task_a.due_at).isoformat() == "2030-01-10T23:59:59+08:00"


def test_the_supervisor_extends_and_an_approved_task_cannot_be(district, page_for, task_a):
    client = page_for(district.supervisor)
    response = client.post(_url(task_a), {"action": "extend", "due_at": "2031-03-01", "reason": "疫情停课"})
    assert response.status_code == 302
    task_a.refresh_from_db()
    assert timezone.localtime(task_a.due_at).isoformat() == "2031-03-01T23:59:59+08:00"
    response = client.post(_url(task_a), {"action": "extend", "due_at": "1999-01-01", "reason": "x"})
    assert response.status_code == 400
    m.Task.objects.filter(pk=task_a.pk).update(status=m.TaskStatus.APPROVED)
    response = client.post(_url(task_a), {"action": "extend", "due_at": "2031-04-01", "reason": "x"})
    assert response.status_code == 409
    assert "已通过" in _messages(response)


def test_evidence_can_be_deleted_by_the_school_before_submitting(district, page_for, task_a):
    client = page_for(district.school_a_user)
    client.post(_url(task_a), {"action": "upload", "file": upload("pdf")})
    item = task_a.evidence.get()
    response = client.post(_url(task_a), {"action": "delete_evidence", "evidence": str(item.pk)})
    assert response.status_code == 302
    assert not task_a.evidence.exists()
    assert m.Event.objects.filter(task=task_a, type="evidence.deleted").exists()


def test_htmx_gets_the_fragment_with_its_messages_swapped_out_of_band(district, page_for, task_a):
    response = page_for(district.school_a_user).post(_url(task_a), {"action": "submit"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    html = response.content.decode()
    assert "<html" not in html  # the fragment the full page includes, not the page
    assert 'id="messages" hx-swap-oob="true"' in html
    assert "提交前至少需上传" in html
    response = page_for(district.school_a_user).post(_url(task_a), {"action": "start"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-status="in_progress"' in response.content.decode()


def test_days_left_and_days_overdue_are_shown(district, page_for, task_a, task_b):
    m.Task.objects.filter(pk=task_b.pk).update(due_at=timezone.now() + timedelta(days=10, hours=1))
    assert "剩余10天" in page_for(district.school_b_user).get("/tasks/").content.decode()
    m.Task.objects.filter(pk=task_a.pk).update(due_at=timezone.now() - timedelta(days=3, hours=1))
    assert "逾期3天" in page_for(district.school_a_user).get("/tasks/").content.decode()
