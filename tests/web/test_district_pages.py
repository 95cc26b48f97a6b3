"""The dashboard, the oversight page and one school's page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import EvidenceFactory, SchoolFactory
from tracker import models as m
from tracker.assessment.cycle_services import cycle_activate
from tracker.assessment.task_services import task_approve, task_submit
from tracker.monitoring.services import urge_create
from tracker.reporting.snapshots import snapshots_take

pytestmark = pytest.mark.django_db


def _chart(html: str, name: str) -> dict:
    assert f'data-chart="{name}"' in html
    match = re.search(rf'<script id="chart-{name}-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, name
    return json.loads(match.group(1))


def _approve(district, task, deductions=()):
    EvidenceFactory(task=task)
    task_submit(task=task, actor=district.school_a_user if task.school == district.school_a else district.school_b_user)
    task_approve(task=task, actor=district.supervisor, deductions=list(deductions))


# --- Dashboard --------------------------------------------------------------------------------------------
def test_the_dashboard_has_totals_three_charts_the_ranking_and_exports(district, page_for, task_a):
    _approve(district, task_a, ["D1"])
    html = page_for(district.supervisor).get("/dashboard/").content.decode()
    assert district.cycle.name in html
    completion = _chart(html, "completion")
    assert completion["xAxis"]["data"] == ["School A", "School B"]
    assert completion["series"][0]["data"] == [100.0, 0]
    status = _chart(html, "status")
    assert [point["value"] for point in status["series"][0]["data"]] == [1, 0, 0, 0, 1]
    assert status["yAxis"]["data"][0] == "未开始"  # texts in the reader's language
    assert "trend" in html and _chart(html, "trend")["xAxis"]["type"] == "category"
    # the ranking: School A first (score 8), linking to its page, the flag column, the exports
    assert html.index("School A") < html.index("School B")
    assert f'href="/schools/{district.school_a.pk}/?cycle={district.cycle.pk}"' in html
    assert f"/api/v1/exports/overview.csv?cycle={district.cycle.pk}" in html
    assert f"/api/v1/exports/overview.xlsx?cycle={district.cycle.pk}" in html


def test_the_dashboard_charts_are_drawn_even_without_data(district, page_for):
    m.Task.objects.all().delete()
    html = page_for(district.inspector).get("/dashboard/").content.decode()
    for name in ("completion", "status", "trend"):
        option = _chart(html, name)
        assert option["graphic"]["style"]["text"] == "暂无数据"
        assert "xAxis" in option and "yAxis" in option  # empty axes are drawn


def test_the_trend_sums_the_daily_snapshots(district, page_for, task_a):
    today = timezone.localdate()
    snapshots_take(now=timezone.now() - timedelta(days=2))
    _approve(district, task_a)
    snapshots_take(now=timezone.now())
    trend = _chart(page_for(district.supervisor).get("/dashboard/").content.decode(), "trend")
    assert trend["xAxis"]["data"][-1] == today.isoformat()
    assert trend["series"][0]["data"][-1] == 50.0  # 1 of 2 tasks approved
    assert trend["series"][0]["data"][0] == 0.0


def test_the_ranking_is_paginated_and_the_chart_keeps_only_the_ends(district, page_for, monkeypatch):
    for n in range(60):
        SchoolFactory(name=f"Extra {n:02d}", parent=district.bureau)
    cycle_activate(actor=district.supervisor, cycle=district.cycle)
    html = page_for(district.supervisor).get("/dashboard/").content.decode()
    rows = re.findall(r'<td class="primary" data-label="学校">', html)
    assert len(rows) == 50
    assert "第1页，共2页 · 共62条" in html
    second = page_for(district.supervisor).get("/dashboard/?page=2").content.decode()
    assert len(re.findall(r'<td class="primary" data-label="学校">', second)) == 12
    completion = _chart(html, "completion")
    assert len(completion["xAxis"]["data"]) == 40
    assert "62" in completion["title"]["text"]
    found = page_for(district.supervisor).get("/dashboard/?q=Extra 0").content.decode()
    assert len(re.findall(r'<td class="primary" data-label="学校">', found)) == 10


def test_drilling_down_lists_the_child_units(district, page_for):
    city = district.bureau
    district_unit = m.Unit.objects.create(name="Zhoushan North", code="ZN", kind="authority", parent=city)
    SchoolFactory(name="Northern School", parent=district_unit)
    cycle_activate(actor=district.supervisor, cycle=district.cycle)
    client = page_for(district.supervisor)
    html = client.get("/dashboard/").content.decode()
    assert f'href="?cycle={district.cycle.pk}&amp;unit={city.pk}"' in html  # "by unit"
    rolled = client.get(f"/dashboard/?cycle={district.cycle.pk}&unit={city.pk}").content.decode()
    assert f'href="?cycle={district.cycle.pk}&amp;unit={district_unit.pk}"' in rolled  # an authority drills down
    assert f'href="/schools/{district.school_a.pk}/?cycle={district.cycle.pk}"' in rolled  # a school opens
    deeper = client.get(f"/dashboard/?cycle={district.cycle.pk}&unit={district_unit.pk}").content.decode()
    assert "Northern School" in deeper and "School A" not in deeper.split('id="ranking"')[1]


# --- Oversight --------------------------------------------------------------------------------------------
def test_oversight_lists_flags_breaches_first_with_its_chart(district, page_for):
    now = timezone.now()
    m.Flag.objects.create(
        cycle=district.cycle, school=district.school_a, severity="critical", opened_at=now - timedelta(days=10)
    )
    m.Flag.objects.create(
        cycle=district.cycle, school=district.school_b, severity="warning", opened_at=now - timedelta(days=1)
    )
    urge_create(
        actor=district.supervisor,
        cycle=district.cycle,
        school=district.school_b,
        message="请整改",
        respond_by=now + timedelta(days=2),
        now=now - timedelta(hours=20),
    )
    for user in (district.inspector, district.supervisor):
        html = page_for(user).get("/oversight/").content.decode()
        chart = _chart(html, "oversight")
        assert chart["xAxis"]["max"] == 2
        assert [s["data"] for s in chart["series"]] == [[1, 0], [0, 0], [1, 1]]
        body = html.split("</thead>")[1]
        assert body.index("School A") < body.index("School B")  # not urged past the limit: first
        assert "未督办，已超时" in body
        assert "4.0小时" in body  # urged 4 hours after the flag opened


def test_oversight_without_flags_still_draws_its_chart(district, page_for):
    html = page_for(district.inspector).get("/oversight/").content.decode()
    assert _chart(html, "oversight")["graphic"]["style"]["text"] == "暂无数据"
    assert "本考评周期暂无滞后学校" in html


# --- One school -------------------------------------------------------------------------------------------
def test_the_school_page_shows_tasks_flag_urges_score_and_rank(district, page_for, task_a, task_b):
    _approve(district, task_b)
    m.Flag.objects.create(
        cycle=district.cycle, school=district.school_a, severity="warning", opened_at=timezone.now(), overdue_count=1
    )
    urge_create(
        actor=district.supervisor,
        cycle=district.cycle,
        school=district.school_a,
        message="请尽快提交材料",
        respond_by=timezone.now() + timedelta(days=3),
    )
    for user in (district.school_a_user, district.supervisor, district.inspector):
        html = page_for(user).get(f"/schools/{district.school_a.pk}/").content.decode()
        assert f"/tasks/{task_a.pk}/" in html
        assert "请尽快提交材料" in html
        assert 'class="badge f-warning"' in html
        assert "2 <small>/ 2</small>" in html  # rank 2 of 2 (School B has the score)
    supervisor_view = page_for(district.supervisor).get(f"/schools/{district.school_a.pk}/").content.decode()
    assert f"/urges/?cycle={district.cycle.pk}&amp;school={district.school_a.pk}" in supervisor_view
    school_view = page_for(district.school_a_user).get(f"/schools/{district.school_a.pk}/").content.decode()
    assert "督办该校" not in school_view


def test_a_school_page_of_a_cycle_the_school_is_not_in_is_404(district, page_for):
    client = page_for(district.supervisor)
    assert client.get(f"/schools/{district.school_a.pk}/?cycle={district.other_cycle.pk}").status_code == 404
    assert client.get(f"/schools/{district.bureau.pk}/").status_code == 404  # not a school


def test_dates_and_times_are_local(district, page_for, task_a):
    m.Task.objects.filter(pk=task_a.pk).update(due_at=datetime(2030, 3, 1, 15, 59, tzinfo=UTC))
    html = page_for(district.school_a_user).get(f"/tasks/{task_a.pk}/").content.decode()
    assert "2030-03-01 23:59" in html
