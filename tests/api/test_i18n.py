"""The API, the notifications, the exports and the admin speak the reader's language: Chinese by default
(LANGUAGE_CODE), English for Accept-Language: en (or a member's language, for what is sent to them)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.factories import EvidenceFactory, UserFactory
from tracker import models as m
from tracker.assessment.task_services import task_approve, task_return, task_submit
from tracker.audit.dispatch import event_handle

pytestmark = pytest.mark.django_db


def _client(client_for, user, language=None):
    client = client_for(user)
    if language:
        client.credentials(HTTP_ACCEPT_LANGUAGE=language)
    return client


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (None, "提交前至少需上传1份佐证材料，目前只有0份。"),
        ("en", "Upload at least 1 evidence file(s) before submitting; this task has 0."),
    ],
)
def test_a_refused_transition_is_worded_in_the_callers_language(district, client_for, task_a, language, text):
    response = _client(client_for, district.school_a_user, language).post(f"/api/v1/tasks/{task_a.pk}/submit/")
    assert response.status_code == 409
    assert response.json() == {"code": "evidence_required", "detail": text, "required": 1, "have": 0}


def test_a_wrong_state_names_the_status_and_what_is_possible_in_both_languages(district, client_for, task_a):
    url = f"/api/v1/tasks/{task_a.pk}/approve/"
    chinese = _client(client_for, district.supervisor).post(url, {}, format="json").json()
    assert chinese["detail"] == ("任务当前状态为“未开始”，现在不能审核通过（现在可以：延长期限）。")
    # `allowed` lists only what the caller may do (issue 13): a supervisor may only extend a task not started.
    assert chinese["status"] == "not_started" and chinese["allowed"] == ["extend"]
    english = _client(client_for, district.supervisor, "en").post(url, {}, format="json").json()
    assert english["detail"] == (
        "The task's status is Not started: you cannot approve now (possible now: extend the deadline)."
    )


def test_a_role_refusal_and_bad_input_in_both_languages(district, client_for, task_a):
    url = f"/api/v1/tasks/{task_a.pk}/start/"
    chinese = _client(client_for, district.inspector).post(url).json()["detail"]
    assert chinese == "只有本单位的学校账号可以开始办理任务。"
    english = _client(client_for, district.inspector, "en").post(url).json()["detail"]
    assert english == "Only a school account of this unit may start tasks."
    progress = f"/api/v1/tasks/{task_a.pk}/progress/"
    body = _client(client_for, district.school_a_user).post(progress, {"progress": 101}, format="json").json()
    assert body["detail"] == "输入无效：progress。"
    body = _client(client_for, district.school_a_user, "en").post(progress, {"progress": 101}, format="json").json()
    assert body["detail"] == "Invalid input: progress."


def _handle_all() -> None:
    for dispatch in m.EventDispatch.objects.filter(done_at__isnull=True).order_by("event_id"):
        event_handle(event_id=dispatch.event_id)


def test_review_notifications_are_in_each_recipients_language(district, task_a, task_b):
    english_speaker = UserFactory()
    m.Membership.objects.create(user=english_speaker, unit=district.school_a, role=m.Role.SCHOOL, language="en")
    for task, user in ((task_a, district.school_a_user), (task_b, district.school_b_user)):
        EvidenceFactory(task=task)
        task_submit(task=task, actor=user)
    task_return(task=task_a, actor=district.supervisor, reason="缺少签到表")
    task_approve(task=task_b, actor=district.supervisor, deductions=["D1"], comment="好")
    _handle_all()
    code, title = district.criterion.code, district.criterion.title
    returned = m.Notification.objects.filter(kind="returned")
    assert {(n.recipient_id, n.title, n.body, n.task_id) for n in returned} == {
        (district.school_a_user.pk, f"{code} {title}：已退回整改", "缺少签到表", task_a.pk),
        (english_speaker.pk, f"{code} {title}: returned for rework", "缺少签到表", task_a.pk),
    }
    approved = m.Notification.objects.get(kind="approved")
    assert (approved.recipient_id, approved.title, approved.body, approved.task_id) == (
        district.school_b_user.pk,
        f"{code} {title}：已审核通过，得分3",  # 10 - 2 (D1) - 5 (late, capped)
        "好",
        task_b.pk,
    )


def test_exports_have_chinese_headers_and_sheets_by_default_and_english_ones_in_english(district, client_for):
    params = {"cycle": district.cycle.pk}
    chinese = _client(client_for, district.supervisor).get("/api/v1/exports/overview.csv", params)
    header = next(csv.reader(io.StringIO(chinese.content.decode("utf-8-sig"))))
    assert header[:3] == ["排名", "学校ID", "学校"] and "完成率" in header and "按时率" in header
    english = _client(client_for, district.supervisor, "en").get("/api/v1/exports/overview.csv", params)
    assert next(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))[:3] == ["rank", "school_id", "school"]
    workbook = load_workbook(
        io.BytesIO(_client(client_for, district.supervisor).get("/api/v1/exports/overview.xlsx", params).content)
    )
    assert workbook.sheetnames == ["总览", "指标"]
    assert [cell.value for cell in workbook["指标"][1]][:3] == ["指标ID", "编号", "指标名称"]


def test_the_admin_names_the_models_in_chinese(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    html = client.get("/admin/").content.decode()
    names = ("清廉平台", "考评周期", "考评指标", "责任任务", "佐证材料", "滞后预警", "督办", "通知", "单位")
    names += ("案例", "通报")
    for name in names:
        assert name in html, name
    english = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Responsibility tasks" in english and "Assessment cycles" in english
