"""The daily snapshot: one row per school per cycle per day, whatever how often it runs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from celery import current_app

from tests.factories import CriterionFactory, CycleFactory, SchoolFactory, UnitFactory
from tests.tracker.reporting.test_dashboards import NOW, Province, build_province
from tracker import models as m
from tracker.assessment.cycle_services import cycle_activate, cycle_close
from tracker.reporting.overview import overview_schools
from tracker.reporting.snapshots import snapshots_take

pytestmark = pytest.mark.django_db

EVENING = datetime(2026, 4, 1, 15, 50, tzinfo=UTC)  # 23:50 in Asia/Shanghai, on 2026-04-01
NEXT_EVENING = datetime(2026, 4, 2, 15, 50, tzinfo=UTC)


@pytest.fixture
def province(db) -> Province:
    return build_province()


def snapshot_rows(cycle: m.Cycle) -> list[tuple]:
    return list(
        m.DailySnapshot.objects.filter(cycle=cycle)
        .order_by("date", "school__name")
        .values_list(
            "school__name", "date", "tasks", "approved", "submitted", "overdue", "due_passed", "on_time", "score"
        )
    )


def test_a_snapshot_records_each_schools_counts_as_the_overview_computes_them(province):
    written = snapshots_take(now=NOW)

    # 5 schools of the province cycle + 1 of the other province's cycle.
    assert written == 6
    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)
    by_school = {s.school_id: s for s in m.DailySnapshot.objects.filter(cycle=province.cycle)}
    assert len(by_school) == 5
    for row in overview.rows:
        snapshot = by_school[row["school"]["id"]]
        assert snapshot.date == date(2026, 4, 1)
        assert (snapshot.tasks, snapshot.approved, snapshot.submitted, snapshot.overdue) == (
            row["tasks"],
            row["approved"],
            row["submitted"],
            row["overdue"],
        )
        assert float(snapshot.score) == row["score"]
        rate = snapshot.on_time / snapshot.due_passed if snapshot.due_passed else None
        assert rate == row["on_time_rate"]


def test_two_runs_the_same_day_leave_one_row_per_school(province):
    snapshots_take(now=EVENING.replace(hour=1))  # 09:00 in Shanghai
    before = snapshot_rows(province.cycle)

    written = snapshots_take(now=EVENING)

    assert written == 0  # nothing changed: nothing rewritten
    assert snapshot_rows(province.cycle) == before
    assert m.DailySnapshot.objects.filter(cycle=province.cycle).count() == 5


def test_a_later_run_the_same_day_updates_the_days_point(province):
    snapshots_take(now=EVENING.replace(hour=1))
    m.Task.objects.filter(school=province.s2, criterion=province.k2).update(
        status=m.TaskStatus.APPROVED, score=Decimal("12.50")
    )

    written = snapshots_take(now=EVENING)

    assert written == 1  # only S2 changed
    s2 = m.DailySnapshot.objects.get(cycle=province.cycle, school=province.s2)
    assert (s2.date, s2.approved, s2.overdue, s2.score) == (date(2026, 4, 1), 1, 0, Decimal("12.50"))
    assert m.DailySnapshot.objects.filter(cycle=province.cycle).count() == 5


def test_the_next_day_adds_a_new_point_and_keeps_the_old_one(province):
    snapshots_take(now=EVENING)
    m.Task.objects.filter(school=province.s2, criterion=province.k2).update(status=m.TaskStatus.APPROVED)

    snapshots_take(now=NEXT_EVENING)

    points = m.DailySnapshot.objects.filter(cycle=province.cycle, school=province.s2).order_by("date")
    assert [(p.date, p.approved) for p in points] == [(date(2026, 4, 1), 0), (date(2026, 4, 2), 1)]


def test_the_day_is_the_local_date_of_now(province):
    # 2026-04-01 17:00 UTC is already 2026-04-02 01:00 in Shanghai.
    snapshots_take(now=datetime(2026, 4, 1, 17, 0, tzinfo=UTC))

    assert set(m.DailySnapshot.objects.values_list("date", flat=True)) == {date(2026, 4, 2)}


def test_only_active_cycles_and_cycles_closed_that_day_are_snapshotted(db):
    bureau = UnitFactory()
    SchoolFactory(parent=bureau)
    draft = CycleFactory(authority=bureau)
    closed_earlier = CycleFactory(authority=bureau)
    closed_today = CycleFactory(authority=bureau)
    for cycle in (draft, closed_earlier, closed_today):
        CriterionFactory(cycle=cycle)
    for cycle in (closed_earlier, closed_today):
        cycle_activate(actor=None, cycle=cycle, now=datetime(2026, 1, 5, tzinfo=UTC))
    cycle_close(actor=None, cycle=closed_earlier, now=datetime(2026, 3, 1, tzinfo=UTC))
    cycle_close(actor=None, cycle=closed_today, now=EVENING.replace(hour=2))

    snapshots_take(now=EVENING)

    assert set(m.DailySnapshot.objects.values_list("cycle_id", flat=True)) == {closed_today.pk}


def test_the_celery_task_is_registered_under_its_name_and_takes_the_snapshot(province):
    task = current_app.tasks["tracker.take_snapshots"]

    written = task.apply().get()

    assert written == 6
    assert m.DailySnapshot.objects.filter(cycle=province.cycle).count() == 5


def test_the_beat_schedule_runs_the_snapshot_daily(db):
    from django_celery_beat.models import PeriodicTask

    periodic = PeriodicTask.objects.get(task="tracker.take_snapshots")

    assert periodic.enabled
    assert periodic.crontab is not None
    assert (periodic.crontab.minute, periodic.crontab.hour) == ("50", "23")
    assert (periodic.crontab.day_of_week, periodic.crontab.day_of_month, periodic.crontab.month_of_year) == (
        "*",
        "*",
        "*",
    )
    assert str(periodic.crontab.timezone) == "Asia/Shanghai"
