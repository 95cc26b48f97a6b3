"""The integrity dashboard (per school, and per child unit with ?unit=) with the contract's fields, and
the XLSX exports of a register and of a campaign's results, within the caller's scope."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from tests.factories import SchoolFactory, UnitFactory
from tests.integrity_support import NOW, D, risk_body
from tracker import models as m
from tracker.assessment.task_services import task_approve, task_submit
from tracker.integrity.campaign_services import campaign_activate
from tracker.integrity.check_services import check_record
from tracker.integrity.register_services import register_submit, risk_create

pytestmark = pytest.mark.django_db
DASHBOARD = "/api/v1/dashboards/integrity/"
CONTRACT_ROW = {
    "school",
    "checks_done",
    "checks_total",
    "findings",
    "rectifications_open",
    "rectifications_overdue",
    "rectifications_closed",
    "rectifications_closed_on_time",
    "register_status",
    "risk_points",
    "high_risk_points",
    "high_with_process_map",
}


@pytest.fixture
def story(integrity):
    """School A: 4 checks, 2 findings (one closed on time, one overdue), a submitted register of 2 risk
    points (1 high with a map). School B: 1 of 3 checks done, nothing else."""
    d = integrity.d
    # Due within this year (the campaign's year is its due date's, and the register below is this year's).
    end_of_year = datetime(timezone.localdate().year, 12, 31, 23, 59, tzinfo=timezone.get_current_timezone())
    campaign = integrity.campaign(due_at=min(timezone.now() + 30 * D, end_of_year))
    checks = {
        c.item.code: c for c in m.Check.objects.filter(campaign=campaign, school=d.school_a).select_related("item")
    }
    check_record(actor=d.school_a_user, check=checks["M02"], result="ok", now=NOW)
    check_record(actor=d.school_a_user, check=checks["A01"], result="ok", now=NOW)
    closed = check_record(
        actor=d.school_a_user,
        check=checks["M01"],
        result="finding",
        finding={"description": "招生未公示", "rectify_by": NOW + 10 * D},
        now=NOW,
    ).task
    check_record(
        actor=d.school_a_user,
        check=checks["N01"],
        result="finding",
        finding={"description": "违规收取资料费", "rectify_by": NOW + 5 * D},
        now=NOW,
    )
    m.Evidence.objects.create(
        task=closed, filename="x.pdf", size=1, sha256="0" * 64, content_type="application/pdf", uploaded_at=NOW
    )
    task_submit(task=closed, actor=d.school_a_user, now=NOW + 3 * D)
    task_approve(task=closed, actor=d.supervisor, deductions=[], now=NOW + 4 * D)
    first_b = m.Check.objects.filter(campaign=campaign, school=d.school_b).order_by("id").first()
    check_record(actor=d.school_b_user, check=first_b, result="ok", now=NOW)
    body = risk_body(integrity.m1)
    body.pop("item")
    risk_create(actor=d.school_a_user, school=d.school_a, item=integrity.m1, **body)
    risk_create(
        actor=d.school_a_user,
        school=d.school_a,
        item=integrity.m2,
        **{**body, "level": "low", "process_map": [], "post": "class_teacher"},
    )
    register_submit(actor=d.school_a_user, school=d.school_a, year=timezone.localdate().year)
    return campaign


def test_the_dashboard_per_school_has_the_contracts_fields(integrity, story, client_for):
    d = integrity.d
    answer = client_for(d.inspector).get(DASHBOARD, {"campaign": story.pk})
    assert answer.status_code == 200
    body = answer.json()
    assert body["campaign"] == story.pk
    rows = {row["school"]["id"]: row for row in body["schools"]}
    assert set(rows) == {d.school_a.pk, d.school_b.pk}
    a = rows[d.school_a.pk]
    assert set(a) == CONTRACT_ROW
    assert {k: v for k, v in a.items() if k != "school"} == {
        "checks_done": 4,
        "checks_total": 4,
        "findings": 2,
        "rectifications_open": 1,
        "rectifications_overdue": 1,
        "rectifications_closed": 1,
        "rectifications_closed_on_time": 1,
        "register_status": "submitted",
        "risk_points": 2,
        "high_risk_points": 1,
        "high_with_process_map": 1,
    }
    b = rows[d.school_b.pk]
    assert (b["checks_done"], b["checks_total"], b["findings"], b["register_status"]) == (1, 3, 0, "draft")
    totals = body["totals"]
    assert (totals["schools"], totals["checks_done"], totals["checks_total"], totals["findings"]) == (2, 5, 7, 2)
    assert totals["registers"] == {"draft": 1, "submitted": 1, "returned": 0, "approved": 0}


def test_the_dashboard_rolls_schools_up_into_child_units(integrity, story, client_for):
    d = integrity.d
    zone = UnitFactory(name="东片", parent=d.bureau)
    SchoolFactory(name="东片小学", parent=zone)
    campaign_activate(actor=d.supervisor, campaign=story, now=NOW)
    body = client_for(d.supervisor).get(DASHBOARD, {"campaign": story.pk, "unit": d.bureau.pk}).json()
    units = {row["unit"]["name"]: row for row in body["units"]}
    assert set(units) == {"School A", "School B", "东片"}
    assert (units["东片"]["schools"], units["东片"]["checks_total"], units["东片"]["checks_done"]) == (1, 3, 0)
    assert units["School A"]["registers"]["submitted"] == 1
    assert body["totals"]["schools"] == 3 and body["totals"]["checks_total"] == 10


def test_who_may_read_the_dashboard(integrity, story, client_for):
    d = integrity.d
    assert client_for(d.school_a_user).get(DASHBOARD, {"campaign": story.pk}).status_code == 403
    assert client_for(d.other_supervisor).get(DASHBOARD, {"campaign": story.pk}).status_code == 404
    assert client_for(d.supervisor).get(DASHBOARD).status_code == 400
    assert client_for(d.supervisor).get(DASHBOARD, {"campaign": "x"}).status_code == 400
    assert client_for(d.supervisor).get(DASHBOARD, {"campaign": story.pk, "unit": d.school_a.pk}).status_code == 400
    assert client_for(d.supervisor).get(DASHBOARD, {"campaign": story.pk, "unit": d.other_bureau.pk}).status_code == 404


def sheet_rows(response, title: str) -> list[tuple]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    return [tuple(row) for row in workbook[title].iter_rows(values_only=True)]


def test_a_school_exports_its_register_and_nobody_exports_anothers(integrity, story, client_for):
    d = integrity.d
    url = "/api/v1/exports/integrity/register.xlsx"
    rows = sheet_rows(
        client_for(d.school_a_user).get(url, {"school": d.school_a.pk}, HTTP_ACCEPT_LANGUAGE="en"), "Register"
    )
    assert rows[0][:7] == ("list", "item_code", "item", "risk_point", "level", "post", "measures")
    assert [(r[1], r[4], r[5]) for r in rows[1:]] == [("M01", "High", "School leader"), ("M02", "Low", "Class teacher")]
    assert rows[1][6] == "集体决策\n结果公示" and "集体审议(校务会) [control]" in rows[1][7]
    # In Chinese (the default language), headers and labels are Chinese.
    chinese = sheet_rows(client_for(d.school_a_user).get(url, {"school": d.school_a.pk}), "风险登记")
    assert "风险等级" in chinese[0] and chinese[1][4] == "高"
    assert client_for(d.school_b_user).get(url, {"school": d.school_a.pk}).status_code == 404
    assert client_for(d.other_supervisor).get(url, {"school": d.school_a.pk}).status_code == 404
    assert client_for(d.supervisor).get(url).status_code == 400
    older = client_for(d.inspector).get(url, {"school": d.school_a.pk, "year": 2019}, HTTP_ACCEPT_LANGUAGE="en")
    assert len(sheet_rows(older, "Register")) == 1  # the header row only: no risk point in 2019


def test_the_campaign_results_export_has_the_dashboard_and_the_findings(integrity, story, client_for):
    d = integrity.d
    url = "/api/v1/exports/integrity/campaign.xlsx"
    response = client_for(d.supervisor).get(url, {"campaign": story.pk}, HTTP_ACCEPT_LANGUAGE="en")
    schools = sheet_rows(response, "Schools")
    assert schools[0][:3] == ("school_id", "school", "checks_done")
    assert {r[1]: r[2] for r in schools[1:]} == {"School A": 4, "School B": 1}
    findings = sheet_rows(response, "Findings")
    assert [(r[0], r[2], r[4], r[7]) for r in findings[1:]] == [
        ("School A", "M01", "招生未公示", "Approved"),
        ("School A", "N01", "违规收取资料费", "Not started"),
    ]
    units = sheet_rows(
        client_for(d.inspector).get(url, {"campaign": story.pk, "unit": d.bureau.pk}, HTTP_ACCEPT_LANGUAGE="en"),
        "Units",
    )
    assert {r[1] for r in units[1:]} == {"School A", "School B"}
    assert client_for(d.school_a_user).get(url, {"campaign": story.pk}).status_code == 403
    assert client_for(d.other_supervisor).get(url, {"campaign": story.pk}).status_code == 404
