"""Cases, their access log, publication and the notice board over HTTP (CONTRACT section 9)."""

from __future__ import annotations

import pytest

from tests.conftest import FULL_NAMES
from tests.factories import MembershipFactory, UnitFactory
from tracker import models as m
from tracker.audit.dispatch import event_handle

pytestmark = pytest.mark.django_db

CASE = {"type": "paid_tutoring", "occurred_on": "2026-02-01", "summary": "赵六在家有偿补课。", "persons": ["赵六"]}


def _url(case: m.Case, tail: str = "") -> str:
    return f"/api/v1/cases/{case.pk}/{tail}"


# --- Who may do what -----------------------------------------------------------------------------------
def test_an_inspector_reports_a_case(district, casework, client_for):
    body = {
        **CASE,
        "authority": district.bureau.pk,
        "school": district.school_a.pk,
        "inspection": casework.inspection.pk,
    }
    response = client_for(district.inspector).post("/api/v1/cases/", body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert {k: data[k] for k in ("authority", "inspection", "school", "type", "occurred_on", "summary", "persons")} == {
        **body
    }
    assert (data["status"], data["disposition"], data["notice"]) == ("reported", "", None)


def test_a_supervisor_reads_cases_but_does_not_write_them(district, casework, client_for):
    client = client_for(district.supervisor)
    assert client.get(_url(casework.reported)).status_code == 200
    assert client.get("/api/v1/cases/").json()["count"] == 2
    assert client.post("/api/v1/cases/", {**CASE, "authority": district.bureau.pk}, format="json").status_code == 403
    assert client.patch(_url(casework.reported), {"summary": "x"}, format="json").status_code == 403
    assert client.post(_url(casework.reported, "publish/"), {}, format="json").status_code == 403
    assert client.get(_url(casework.reported, "reads/")).status_code == 403


@pytest.mark.parametrize("which", ["reported", "published"])
def test_a_school_never_sees_a_case_not_even_its_own_or_a_published_one(district, casework, client_for, which):
    case = getattr(casework, which)
    for user in (district.school_a_user, district.school_b_user):
        client = client_for(user)
        missing = client.get("/api/v1/cases/999999999/")
        for response in (
            client.get(_url(case)),
            client.patch(_url(case), {"summary": "x"}, format="json"),
            client.post(_url(case, "publish/"), {}, format="json"),
            client.get(_url(case, "reads/")),
        ):
            assert response.status_code == 404
            assert response.json() == missing.json()
        assert client.get("/api/v1/cases/").status_code == 403
        assert (
            client.post("/api/v1/cases/", {**CASE, "authority": district.bureau.pk}, format="json").status_code == 403
        )
    assert not m.CaseRead.objects.filter(reader__in=[district.school_a_user, district.school_b_user]).exists()


def test_another_districts_staff_do_not_see_the_cases(district, casework, client_for):
    client = client_for(district.other_supervisor)
    assert client.get(_url(casework.reported)).status_code == 404
    assert [r["id"] for r in client.get("/api/v1/cases/").json()["results"]] == [casework.other_case.pk]
    assert client.get("/api/v1/cases/", {"inspection": casework.inspection.pk}).status_code == 400


def test_an_inspector_of_another_district_cannot_file_a_case_here(district, client_for):
    outsider = MembershipFactory(unit=district.other_bureau, role=m.Role.INSPECTOR).user
    response = client_for(outsider).post("/api/v1/cases/", {**CASE, "authority": district.bureau.pk}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"authority"}


def test_a_city_inspector_writes_the_cases_of_its_districts(district, casework, client_for):
    city = UnitFactory(name="City", code="CITY")
    m.Unit.objects.filter(pk=district.bureau.pk).update(parent=city)
    inspector = MembershipFactory(unit=city, role=m.Role.INSPECTOR).user
    response = client_for(inspector).patch(_url(casework.reported), {"status": "investigating"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "investigating"


# --- Reads are recorded ----------------------------------------------------------------------------
def test_every_read_is_recorded_and_inspectors_list_them(district, casework, client_for):
    client_for(district.supervisor).get(_url(casework.reported))
    client_for(district.supervisor).get("/api/v1/cases/", {"status": "concluded"})
    client_for(district.inspector).patch(_url(casework.reported), {"summary": "李四在小区有偿补课。"}, format="json")

    response = client_for(district.inspector).get(_url(casework.reported, "reads/"))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["reader"], r["via"]) for r in rows] == [
        (district.inspector.username, "api.update"),
        (district.supervisor.username, "api.detail"),
    ]
    assert all(r["read_at"] for r in rows)
    listed = m.CaseRead.objects.filter(via="api.list", reader=district.supervisor)
    assert set(listed.values_list("case", flat=True)) == {casework.published.pk}
    # Listing the reads is not itself a read of the case.
    assert m.CaseRead.objects.filter(reader=district.inspector, via__startswith="api.reads").count() == 0


# --- Workflow over HTTP: 400 before 409 -------------------------------------------------------------
def test_status_moves_one_step_and_refusals_say_what_is_allowed(district, casework, client_for):
    client = client_for(district.inspector)
    jump = client.patch(_url(casework.reported), {"status": "concluded", "disposition": "x"}, format="json")
    assert jump.status_code == 409
    assert jump.json() == {
        "code": "invalid_transition",
        "detail": "a reported case cannot become concluded",
        "status": "reported",
        "allowed": ["investigating"],
    }
    assert client.patch(_url(casework.reported), {"status": "investigating"}, format="json").status_code == 200
    bare = client.patch(_url(casework.reported), {"status": "concluded"}, format="json")
    assert bare.status_code == 400
    assert set(bare.json()["errors"]) == {"disposition"}
    done = client.patch(
        _url(casework.reported), {"status": "concluded", "disposition": "责令退还补课费"}, format="json"
    )
    assert done.status_code == 200
    assert done.json()["concluded_at"] is not None


def test_publish_refuses_an_unconcluded_case_and_a_second_publication(district, casework, client_for):
    client = client_for(district.inspector)
    early = client.post(_url(casework.reported, "publish/"), {}, format="json")
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    again = client.post(_url(casework.published, "publish/"), {}, format="json")
    assert again.status_code == 409
    assert again.json() == {
        "code": "already_published",
        "detail": "this case is already published",
        "notice": casework.notice.pk,
    }
    frozen = client.patch(_url(casework.published), {"disposition": "改"}, format="json")
    assert frozen.status_code == 409
    assert frozen.json()["code"] == "case_published"
    assert client.post(_url(casework.reported, "publish/"), {"title": "x"}, format="json").status_code == 400


def test_publishing_answers_with_the_redacted_notice(district, casework, client_for):
    client = client_for(district.inspector)
    client.patch(_url(casework.reported), {"status": "investigating"}, format="json")
    client.patch(_url(casework.reported), {"status": "concluded", "disposition": "给予李四警告处分。"}, format="json")

    response = client.post(_url(casework.reported, "publish/"), {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 201
    notice = response.json()
    assert set(notice) >= {"id", "case", "title", "body", "published_at"}
    assert notice["case"] == casework.reported.pk
    assert notice["title"] == "关于一起在职教师违规有偿补课问题的通报（2026-02-20）"
    assert notice["body"] == (
        "问题类型：在职教师违规有偿补课\n发生日期：2026-02-20\n涉及人员：李某\n"
        "基本情况：李某在东港花园小区租房有偿补课。\n处理结果：给予李某警告处分。"
    )
    assert client.get(_url(casework.reported)).json()["notice"] == notice["id"]


# --- The notice board ------------------------------------------------------------------------------
def test_every_account_under_the_authority_reads_the_notices_newest_first(district, casework, client_for):
    client = client_for(district.inspector)
    client.patch(_url(casework.reported), {"status": "investigating"}, format="json")
    client.patch(_url(casework.reported), {"status": "concluded", "disposition": "警告"}, format="json")
    newer = client.post(_url(casework.reported, "publish/"), {}, format="json").json()

    for user in (district.school_a_user, district.school_b_user, district.supervisor, district.inspector):
        rows = client_for(user).get("/api/v1/notices/").json()["results"]
        assert [r["id"] for r in rows] == [newer["id"], casework.notice.pk], user
    next_door = client_for(district.other_school_user).get("/api/v1/notices/").json()["results"]
    assert [r["id"] for r in next_door] == [casework.other_notice.pk]
    assert client_for(district.other_school_user).get(f"/api/v1/notices/{casework.notice.pk}/").status_code == 404


def test_a_notice_comes_in_the_readers_language(district, casework, client_for):
    client = client_for(district.school_a_user)
    url = f"/api/v1/notices/{casework.notice.pk}/"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert english["title"] == "Notice on a case of a promotion or thank-the-teacher banquet (2026-01-10)"
    assert "Persons: 张某, 欧阳某" in english["body"]
    assert chinese["title"].startswith("关于一起违规操办“升学宴”“谢师宴”问题的通报")
    assert "涉及人员：张某、欧阳某" in chinese["body"]


def test_the_notification_of_a_notice_reaches_the_school_without_a_name(district, casework, client_for):
    event = m.Event.objects.get(type="case.published", subject_id=str(casework.published.pk))
    event_handle(event_id=event.pk)

    rows = client_for(district.school_a_user).get("/api/v1/notifications/", {"kind": "notice_published"}).json()

    assert rows["count"] == 1
    text = str(rows)
    assert "张某" in text
    for name in FULL_NAMES:
        assert name not in text


def test_case_events_are_in_the_event_log_of_the_authority_only(district, casework, client_for):
    mine = client_for(district.supervisor).get("/api/v1/events/", {"page_size": 500}).json()["results"]
    assert {"case.created", "case.status_changed", "case.published", "inspection.created"} <= {e["type"] for e in mine}
    theirs = client_for(district.other_supervisor).get("/api/v1/events/", {"page_size": 500}).json()["results"]
    own_cases = {str(casework.reported.pk), str(casework.published.pk), str(casework.inspection.pk)}
    assert not [e for e in theirs if e["subject_type"] in ("case", "inspection") and e["subject_id"] in own_cases]
