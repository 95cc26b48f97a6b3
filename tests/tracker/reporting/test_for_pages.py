"""The reads the web pages add to reporting: the trend summed over every school, and which time limit
each oversight row missed (counted as the report's totals count)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.factories import SchoolFactory, UnitFactory
from tracker import models as m
from tracker.assessment.cycle_services import cycle_activate
from tracker.monitoring.services import urge_create, urge_respond
from tracker.reporting.oversight import oversight_report
from tracker.reporting.trends import trend_series, trend_totals

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def _snapshot(cycle, school, day, **counts):
    values = {"tasks": 4, "approved": 0, "submitted": 0, "overdue": 0, "due_passed": 0, "on_time": 0, "score": 0}
    values = {**values, **counts}
    # no deadline moved unless a test says so: the original deadlines are the ones in force
    values.setdefault("original_due_passed", values["due_passed"])
    values.setdefault("on_time_original", values["on_time"])
    m.DailySnapshot.objects.create(cycle=cycle, school=school, date=day, **values)


def test_the_trend_totals_sum_every_schools_snapshot_per_day(district):
    d1, d2 = date(2026, 3, 1), date(2026, 3, 2)
    _snapshot(district.cycle, district.school_a, d1, approved=1, overdue=2, due_passed=2, on_time=1)
    _snapshot(district.cycle, district.school_b, d1, approved=3, overdue=0, due_passed=2, on_time=2)
    _snapshot(district.cycle, district.school_a, d2, approved=2, overdue=1, due_passed=4, on_time=1, on_time_original=0)
    _snapshot(district.other_cycle, district.other_school, d1, approved=4)  # another cycle: not counted
    points = trend_totals(cycle=district.cycle, roots=[district.bureau.pk], since=d1, until=d2)
    assert points == [
        {"date": d1, "approved": 4, "overdue": 2, "completion_rate": 0.5, "on_time_rate": 0.75}
        | {"on_time_original_rate": 0.75},
        {"date": d2, "approved": 2, "overdue": 1, "completion_rate": 0.5, "on_time_rate": 0.25}
        | {"on_time_original_rate": 0.0},
    ]
    # the same numbers as summing the per-school series by hand
    series = trend_series(cycle=district.cycle, since=d1, until=d2, roots=[district.bureau.pk])
    assert sum(s["points"][0]["approved"] for s in series) == points[0]["approved"]


def test_the_trend_totals_of_part_of_a_cycle_count_only_its_schools(district):
    north = UnitFactory(name="North", parent=district.bureau)
    northern = SchoolFactory(name="Northern", parent=north)
    cycle_activate(actor=district.supervisor, cycle=district.cycle)
    day = date(2026, 3, 1)
    _snapshot(district.cycle, district.school_a, day, approved=4)
    _snapshot(district.cycle, northern, day, approved=1, tasks=2)
    points = trend_totals(cycle=district.cycle, roots=[north.pk], since=day, until=day)
    assert points == [
        {"date": day, "approved": 1, "overdue": 0, "completion_rate": 0.5, "on_time_rate": None}
        | {"on_time_original_rate": None}
    ]
    assert (
        trend_totals(
            cycle=district.cycle, roots=[north.pk], since=day + timedelta(days=1), until=day + timedelta(days=9)
        )
        == []
    )


def test_each_oversight_row_says_which_time_limit_it_missed(district, settings):
    settings.TRACKER = {**settings.TRACKER, "URGE_SLA_DAYS": 2, "RESPONSE_SLA_DAYS": 3}
    now = timezone.now()
    extra = [SchoolFactory(name=f"S{n}", parent=district.bureau) for n in range(3)]
    schools = [district.school_a, district.school_b, *extra]
    opened = now - timedelta(days=10)
    for school in schools:
        m.Flag.objects.create(cycle=district.cycle, school=school, severity="warning", opened_at=opened)
    m.Flag.objects.filter(school=extra[2]).update(resolved_at=opened + H)  # resolved before any limit

    def urge(school, *, after, answered_after=None):
        made = urge_create(
            actor=district.supervisor,
            cycle=district.cycle,
            school=school,
            message="x",
            respond_by=now + timedelta(days=30),
            now=opened + after,
        )
        if answered_after is not None:
            urge_respond(actor=None, urge=made, response="y", now=opened + after + answered_after)

    urge(district.school_a, after=5 * H, answered_after=10 * H)  # both in time
    urge(district.school_b, after=3 * 24 * H, answered_after=4 * 24 * H)  # both late
    urge(extra[0], after=1 * H)  # urged in time, never answered: late by now
    # extra[1]: never urged, open: the urge is late; extra[2]: resolved, never urged: no breach
    report = oversight_report(cycle=district.cycle, roots=[district.bureau.pk], now=now)
    rows = {row["school"]["name"]: row for row in report["flags"]}
    assert {name: (row["urge_late"], row["answer_late"], row["breach"]) for name, row in rows.items()} == {
        "School A": (False, False, False),
        "School B": (True, True, True),
        "S0": (False, True, True),
        "S1": (True, False, True),
        "S2": (False, False, False),
    }
    totals = report["totals"]
    urged = [row for row in rows.values() if row["first_urge_at"] is not None]
    assert totals["urged_within_sla"] == sum(not row["urge_late"] for row in urged)
    assert totals["not_urged_past_sla"] == sum(
        row["urge_late"] for row in rows.values() if row["first_urge_at"] is None
    )
    answered = [row for row in urged if row["responded_at"] is not None]
    assert totals["answered_within_sla"] == sum(not row["answer_late"] for row in answered)
