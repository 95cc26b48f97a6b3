"""Urges (create, answer, read) and the notifications inbox with the unread count in every header."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tracker import models as m
from tracker.monitoring.services import urge_create, urge_respond

pytestmark = pytest.mark.django_db


def _urge(district, school=None, **kwargs):
    return urge_create(
        actor=district.supervisor,
        cycle=district.cycle,
        school=school or district.school_a,
        message=kwargs.pop("message", "请于本周内提交会议纪要"),
        respond_by=kwargs.pop("respond_by", timezone.now() + timedelta(days=3)),
        **kwargs,
    )


# --- Urges ------------------------------------------------------------------------------------------------
def test_a_supervisor_urges_a_school_from_the_page(district, page_for):
    client = page_for(district.supervisor)
    page = client.get(f"/urges/?cycle={district.cycle.pk}&school={district.school_a.pk}").content.decode()
    assert 'name="school"' in page and 'name="message"' in page and 'name="respond_by"' in page
    assert f'<option value="{district.school_a.pk}" selected>' in page
    assert "Other School" not in page  # another district's school is no choice
    response = client.post(
        f"/urges/?cycle={district.cycle.pk}",
        {"action": "urge", "school": district.school_a.pk, "message": "请尽快整改", "respond_by": "2099-03-01"},
    )
    assert response.status_code == 302
    urge = m.Urge.objects.get()
    assert urge.school == district.school_a and urge.created_by == district.supervisor
    assert timezone.localtime(urge.respond_by).isoformat() == "2099-03-01T23:59:59+08:00"
    assert "已督办School A" in client.get(response["Location"]).content.decode()


def test_urging_a_school_out_of_scope_is_a_400(district, page_for):
    response = page_for(district.supervisor).post(
        f"/urges/?cycle={district.cycle.pk}",
        {"action": "urge", "school": district.other_school.pk, "message": "x", "respond_by": "2099-03-01"},
    )
    assert response.status_code == 400
    assert not m.Urge.objects.exists()


def test_schools_and_inspectors_cannot_urge(district, page_for):
    for user in (district.school_a_user, district.inspector):
        client = page_for(user)
        assert 'value="urge"' not in client.get("/urges/").content.decode()
        response = client.post(
            "/urges/", {"action": "urge", "school": district.school_a.pk, "message": "x", "respond_by": "2099-03-01"}
        )
        assert response.status_code == 403
    assert not m.Urge.objects.exists()


def test_a_school_answers_its_urge_once(district, page_for):
    urge = _urge(district)
    client = page_for(district.school_a_user)
    page = client.get("/urges/").content.decode()
    assert "请于本周内提交会议纪要" in page and 'value="respond"' in page
    response = client.post("/urges/", {"action": "respond", "urge": urge.pk, "response": ""})
    assert response.status_code == 400
    response = client.post("/urges/", {"action": "respond", "urge": urge.pk, "response": "已提交"})
    assert response.status_code == 302
    urge.refresh_from_db()
    assert urge.response == "已提交" and urge.responded_by == district.school_a_user
    again = client.post("/urges/", {"action": "respond", "urge": urge.pk, "response": "再次"})
    assert again.status_code == 409
    assert "该督办已回复" in again.content.decode()


def test_a_school_cannot_see_or_answer_another_schools_urge(district, page_for):
    urge = _urge(district, school=district.school_b)
    client = page_for(district.school_a_user)
    assert "请于本周内提交会议纪要" not in client.get("/urges/").content.decode()
    assert client.post("/urges/", {"action": "respond", "urge": urge.pk, "response": "x"}).status_code == 404
    # the supervisor sees it but may not answer for the school
    response = page_for(district.supervisor).post("/urges/", {"action": "respond", "urge": urge.pk, "response": "x"})
    assert response.status_code == 403


def test_the_inspector_reads_every_urge_and_its_state(district, page_for):
    now = timezone.now()
    answered = _urge(district, now=now - timedelta(days=5), respond_by=now - timedelta(days=2))
    urge_respond(actor=district.school_a_user, urge=answered, response="按时回复", now=now - timedelta(days=3))
    late = _urge(district, school=district.school_b, now=now - timedelta(days=5), respond_by=now - timedelta(days=2))
    urge_respond(actor=district.school_b_user, urge=late, response="迟到的回复", now=now - timedelta(days=1))
    _urge(district, message="从未回复", now=now - timedelta(days=5), respond_by=now - timedelta(days=1))
    html = page_for(district.inspector).get("/urges/").content.decode()
    assert "按时回复" in html and "迟到的回复" in html and "从未回复" in html
    assert "已回复" in html and "逾期回复" in html and "逾期未回复" in html
    assert 'value="respond"' not in html and 'value="urge"' not in html


# --- Notifications ----------------------------------------------------------------------------------------
def _notify(user, title, *, read=False, **kwargs):
    return m.Notification.objects.create(
        recipient=user,
        kind=kwargs.pop("kind", "overdue"),
        title=title,
        created_at=kwargs.pop("created_at", timezone.now()),
        read_at=timezone.now() if read else None,
        **kwargs,
    )


def _unread(html: str) -> int:
    return int(re.search(r'data-unread="(\d+)"', html).group(1))


def test_the_unread_count_is_in_every_pages_header(district, page_for, task_a):
    _notify(district.school_a_user, "一")
    _notify(district.school_a_user, "二")
    _notify(district.school_a_user, "三", read=True)
    _notify(district.school_b_user, "别人的")
    client = page_for(district.school_a_user)
    for path in ("/tasks/", f"/tasks/{task_a.pk}/", "/urges/", "/notifications/", f"/schools/{district.school_a.pk}/"):
        assert _unread(client.get(path).content.decode()) == 2, path


def test_the_task_page_reads_the_callers_own_unread_count_with_the_task(district, page_for, task_a):
    # given: the school's two unread, the supervisor's one, the inspector's none
    _notify(district.school_a_user, "一")
    _notify(district.school_a_user, "二")
    _notify(district.supervisor, "督办")
    page = f"/tasks/{task_a.pk}/"
    # then: each reads their own on the same task's page
    assert _unread(page_for(district.school_a_user).get(page).content.decode()) == 2
    assert _unread(page_for(district.supervisor).get(page).content.decode()) == 1
    assert _unread(page_for(district.inspector).get(page).content.decode()) == 0


def test_notifications_are_the_users_own_unread_first_and_can_be_marked_read(district, page_for, task_a):
    now = timezone.now()
    old_unread = _notify(district.school_a_user, "旧的未读", created_at=now - timedelta(days=3), task=task_a)
    _notify(district.school_a_user, "新的已读", read=True, created_at=now)
    _notify(district.school_b_user, "别人的通知")
    client = page_for(district.school_a_user)
    html = client.get("/notifications/").content.decode()
    assert "别人的通知" not in html
    assert html.index("旧的未读") < html.index("新的已读")
    assert f'href="/tasks/{task_a.pk}/"' in html
    response = client.post("/notifications/", {"notification": old_unread.pk})
    assert response.status_code == 302
    old_unread.refresh_from_db()
    assert old_unread.read_at is not None
    assert _unread(client.get("/notifications/").content.decode()) == 0


def test_marking_someone_elses_notification_is_404(district, page_for):
    theirs = _notify(district.school_b_user, "别人的通知")
    assert page_for(district.school_a_user).post("/notifications/", {"notification": theirs.pk}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_with_htmx_updates_the_list_and_the_header_count(district, page_for):
    for n in range(3):
        _notify(district.supervisor, f"通知{n}")
    response = page_for(district.supervisor).post("/notifications/", {"action": "read_all"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="unread" class="bell" href="/notifications/" hx-swap-oob="true"' in html
    assert _unread(html) == 0
    assert "已将3条通知标为已读" in html
    assert not m.Notification.objects.filter(recipient=district.supervisor, read_at__isnull=True).exists()
