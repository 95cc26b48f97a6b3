"""A write through a page records the same events as the same write through the API.

The same steps are done on two tasks of the same criterion: School A's through the API, School B's
through the pages. Their event logs must agree, type by type and fact by fact (only the actor differs,
and the evidence's id).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from tests.samples import upload
from tracker import models as m

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)


def _log(**where) -> list[tuple[str, dict]]:
    rows = []
    for event in m.Event.objects.filter(**where).order_by("id"):
        data = dict(event.data)
        data.pop("evidence", None)  # the evidence row's id
        rows.append((event.type, data, event.occurred_at, event.subject_type))
    return rows


def _school_steps_api(client, task):
    base = f"/api/v1/tasks/{task.pk}"
    assert client.post(f"{base}/start/").status_code == 200
    assert client.post(f"{base}/progress/", {"progress": 40, "note": "整理中"}, format="json").status_code == 200
    assert (
        client.post(f"{base}/evidence/", {"file": upload("pdf", name="纪要.pdf")}, format="multipart").status_code
        == 201
    )
    assert client.post(f"{base}/submit/").status_code == 200


def _school_steps_web(client, task):
    url = f"/tasks/{task.pk}/"
    assert client.post(url, {"action": "start"}).status_code == 302
    assert client.post(url, {"action": "progress", "progress": "40", "note": "整理中"}).status_code == 302
    assert client.post(url, {"action": "upload", "file": upload("pdf", name="纪要.pdf")}).status_code == 302
    assert client.post(url, {"action": "submit"}).status_code == 302


@pytest.mark.parametrize(
    ("api_call", "web_form"),
    [
        (
            ("approve", {"deductions": ["D2"], "comment": "好"}),
            {"action": "approve", "deductions": ["D2"], "comment": "好"},
        ),
        (
            ("return", {"reason": "缺签到表", "rework_due_at": "2026-05-20T23:59:59+08:00"}),
            {"action": "return", "reason": "缺签到表", "rework_due_at": "2026-05-20"},
        ),
        (
            ("extend", {"due_at": "2026-09-30T23:59:59+08:00", "reason": "停课"}),
            {"action": "extend", "due_at": "2026-09-30", "reason": "停课"},
        ),
    ],
    ids=["approve", "return", "extend"],
)
def test_school_and_supervisor_writes_record_the_same_events(
    district, client_for, page_for, task_a, task_b, api_call, web_form
):
    with freeze_time(WHEN):
        _school_steps_api(client_for(district.school_a_user), task_a)
        _school_steps_web(page_for(district.school_b_user), task_b)
        action, body = api_call
        assert (
            client_for(district.supervisor)
            .post(f"/api/v1/tasks/{task_a.pk}/{action}/", body, format="json")
            .status_code
            == 200
        )
        assert page_for(district.supervisor).post(f"/tasks/{task_b.pk}/", web_form).status_code == 302
    via_api, via_web = _log(task=task_a), _log(task=task_b)
    assert [row[0] for row in via_api] == [
        "task.started",
        "task.progressed",
        "evidence.uploaded",
        "task.submitted",
        {"approve": "task.approved", "return": "task.returned", "extend": "task.extended"}[action],
    ]
    assert via_web == via_api
    for field in ("status", "progress", "note", "score", "due_at", "deductions", "late_penalty", "return_reason"):
        task_a.refresh_from_db()
        task_b.refresh_from_db()
        assert getattr(task_b, field) == getattr(task_a, field), field


def test_urging_and_answering_record_the_same_events(district, client_for, page_for):
    with freeze_time(WHEN):
        body = {"cycle": district.cycle.pk, "message": "请尽快整改", "respond_by": "2026-05-08T23:59:59+08:00"}
        response = client_for(district.supervisor).post(
            "/api/v1/urges/", {**body, "school": district.school_a.pk}, format="json"
        )
        assert response.status_code == 201
        response = page_for(district.supervisor).post(
            f"/urges/?cycle={district.cycle.pk}",
            {"action": "urge", "school": district.school_b.pk, "message": "请尽快整改", "respond_by": "2026-05-08"},
        )
        assert response.status_code == 302
        urge_a = m.Urge.objects.get(school=district.school_a)
        urge_b = m.Urge.objects.get(school=district.school_b)
        assert (
            client_for(district.school_a_user)
            .post(f"/api/v1/urges/{urge_a.pk}/respond/", {"response": "已整改"}, format="json")
            .status_code
            == 200
        )
        response = page_for(district.school_b_user).post(
            "/urges/", {"action": "respond", "urge": urge_b.pk, "response": "已整改"}
        )
        assert response.status_code == 302
    assert _log(school=district.school_b) == _log(school=district.school_a)
    assert [row[0] for row in _log(school=district.school_a)] == ["urge.created", "urge.responded"]


def test_urging_a_school_of_a_closed_cycle_is_a_409_message(district, page_for):
    m.Cycle.objects.filter(pk=district.cycle.pk).update(status=m.CycleStatus.CLOSED)
    response = page_for(district.supervisor).post(
        f"/urges/?cycle={district.cycle.pk}",
        {"action": "urge", "school": district.school_a.pk, "message": "x", "respond_by": "2099-01-01"},
    )
    assert response.status_code == 409
    assert "只能督办进行中考评周期的学校" in response.content.decode()
    assert not m.Urge.objects.exists()


def test_recording_a_round_records_the_same_event(district, client_for, page_for):
    with freeze_time(WHEN):
        body = {
            "authority": district.bureau.pk,
            "kind": "unannounced",
            "held_on": "2026-05-01",
            "inspectors": 3,
            "targets": [{"kind": "neighbourhood", "name": "东港花园小区"}],
            "summary": "暗访",
        }
        assert client_for(district.inspector).post("/api/v1/inspections/", body, format="json").status_code == 201
        form = {
            "kind": "unannounced",
            "held_on": "2026-05-01",
            "inspectors": "3",
            "target_kind": "neighbourhood",
            "target_name": "东港花园小区",
            "summary": "暗访",
        }
        assert page_for(district.inspector).post("/inspections/", form).status_code == 302
    via_api, via_web = (
        _log(subject_type="inspection", subject_id=str(pk))
        for pk in m.Inspection.objects.order_by("id").values_list("pk", flat=True)
    )
    assert [row[0] for row in via_api] == ["inspection.created"]
    assert via_web == via_api


def test_working_a_case_to_its_notice_records_the_same_events(district, client_for, page_for):
    from tracker.inspections.case_services import case_create

    def case():
        return case_create(
            actor=district.inspector,
            authority=district.bureau,
            school=district.school_a,
            type="paid_tutoring",
            occurred_on=WHEN.date(),
            summary="赵六有偿补课。",
            persons=["赵六"],
            now=WHEN,
        )

    case_a, case_b = case(), case()
    api, web = client_for(district.inspector), page_for(district.inspector)
    with freeze_time(WHEN):
        steps = [
            ({"status": "investigating"}, {"action": "status", "status": "investigating"}),
            ({"disposition": "责令赵六退还补课费。"}, {"action": "disposition", "disposition": "责令赵六退还补课费。"}),
            ({"status": "concluded"}, {"action": "status", "status": "concluded"}),
        ]
        for body, form in steps:
            assert api.patch(f"/api/v1/cases/{case_a.pk}/", body, format="json").status_code == 200
            assert web.post(f"/cases/{case_b.pk}/", form).status_code == 302
        assert api.post(f"/api/v1/cases/{case_a.pk}/publish/", {}, format="json").status_code == 201
        assert web.post(f"/cases/{case_b.pk}/", {"action": "publish"}).status_code == 302

    def log(case) -> list:
        rows = _log(subject_type="case", subject_id=str(case.pk))
        for _type, data, *_rest in rows:
            data.pop("notice", None)  # the notice row's id
        return rows

    assert [row[0] for row in log(case_a)] == [
        "case.created",
        "case.status_changed",
        "case.updated",
        "case.status_changed",
        "case.published",
    ]
    assert log(case_b)[1:] == log(case_a)[1:]  # created by the same service, outside both routes
    assert m.Notice.objects.get(case=case_b).persons == m.Notice.objects.get(case=case_a).persons == ["赵某"]
