"""Early warning (CONTRACT section 7): the sweep finds the tasks at risk of missing their deadline and
reminds their school once per (task, due_at), however often or concurrently it runs; no flag opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tests.concurrency import at_once
from tests.factories import MembershipFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.monitoring.sweep import sweep_run

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # the district's tasks, set at activation on 2026-01-05
H = timedelta(hours=1)
D = timedelta(days=1)


def at_risk_reminders(**filters) -> list[tuple[int, int, datetime]]:
    rows = m.Reminder.objects.filter(kind="at_risk", **filters).order_by("task_id", "due_at")
    return list(rows.values_list("task_id", "stage", "due_at"))


def test_a_task_at_risk_is_reminded_once_per_deadline(district, task_a):
    sweep_run(now=DUE - 10 * D)
    sweep_run(now=DUE - 9 * D)
    sweep_run(now=DUE - 2 * D)

    assert at_risk_reminders(task=task_a) == [(task_a.pk, 0, DUE)]
    # a new deadline is judged afresh: extended, then left alone until it is at risk again
    task_services.task_extend(task=task_a, actor=district.supervisor, due_at=DUE + 10 * D, reason="r", now=DUE - D)
    sweep_run(now=DUE - D + H)
    assert at_risk_reminders(task=task_a) == [(task_a.pk, 0, DUE)]
    sweep_run(now=DUE + 8 * D)  # 0 % with 82 % of the new window gone
    assert at_risk_reminders(task=task_a) == [(task_a.pk, 0, DUE), (task_a.pk, 0, DUE + 10 * D)]


def test_only_tasks_in_the_window_behind_or_stagnant_are_reminded(district, task_a, task_b):
    # A reports progress on track; B is untouched since January
    task_services.task_progress(task=task_a, actor=district.school_a_user, progress=95, now=DUE - 11 * D)
    sweep_run(now=DUE - 15 * D)  # outside the 14-day window: nobody
    assert at_risk_reminders() == []

    sweep_run(now=DUE - 10 * D)
    assert at_risk_reminders(task__cycle=district.cycle) == [(task_b.pk, 0, DUE)]


def test_a_quiet_task_on_track_is_at_risk_by_stagnation(district, task_a):
    task_services.task_progress(task=task_a, actor=district.school_a_user, progress=99, now=DUE - 30 * D)
    sweep_run(now=DUE - 17 * D)
    sweep_run(now=DUE - 14 * D - H)  # in the window, on track, quiet for 16 days... window starts at 14
    assert at_risk_reminders(task=task_a) == []
    sweep_run(now=DUE - 14 * D)  # due in exactly 14 days, nothing for 16: stagnant
    assert at_risk_reminders(task=task_a) == [(task_a.pk, 0, DUE)]


@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_tasks_no_longer_owed_are_never_at_risk(district, task_a, status):
    m.Task.objects.filter(pk=task_a.pk).update(status=status)
    sweep_run(now=DUE - 5 * D)
    assert at_risk_reminders(task=task_a) == []


def test_at_risk_tasks_open_no_flag_and_reach_only_the_school(district, task_a):
    MembershipFactory(unit=district.school_a, role=m.Role.SCHOOL, language="en")
    report = sweep_run(now=DUE - 5 * D)

    assert report.flag_changes == 0
    assert not m.Flag.objects.exists()
    notes = m.Notification.objects.filter(kind="at_risk", task=task_a)
    school_accounts = set(
        m.Membership.objects.filter(unit=district.school_a, role=m.Role.SCHOOL).values_list("user_id", flat=True)
    )
    assert set(notes.values_list("recipient_id", flat=True)) == school_accounts
    assert len(school_accounts) == 2
    english = notes.exclude(recipient=district.school_a_user).get()
    assert "at risk of missing its deadline" in english.title
    assert english.body.startswith("Progress so far: 0%.")
    assert "逾期风险" in notes.get(recipient=district.school_a_user).title


def test_the_thresholds_are_settings(district, task_a, settings):
    task_services.task_progress(task=task_a, actor=district.school_a_user, progress=60, now=DUE - 5 * D)
    settings.TRACKER = {**settings.TRACKER, "EARLY_WARNING_DAYS": 3}
    sweep_run(now=DUE - 4 * D)  # expected 98 %, 60 + 30 behind: but not within 3 days yet
    assert at_risk_reminders(task=task_a) == []
    settings.TRACKER = {**settings.TRACKER, "EARLY_WARNING_DAYS": 14, "AT_RISK_MARGIN": 40}
    sweep_run(now=DUE - 3 * D)  # 60 + 40 = 100: not behind; active 2 days ago: not stagnant
    assert at_risk_reminders(task=task_a) == []
    settings.TRACKER = {**settings.TRACKER, "AT_RISK_MARGIN": 30}
    sweep_run(now=DUE - 3 * D + H)
    assert at_risk_reminders(task=task_a) == [(task_a.pk, 0, DUE)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL (the suite's database)")
def test_four_concurrent_sweeps_remind_each_task_at_risk_once(district):
    for i in range(6):
        criterion = m.Criterion.objects.create(
            cycle=district.cycle, code=f"EW{i}", title=f"early {i}", category="c", due_at=DUE + i * H, max_score=5
        )
        for school in (district.school_a, district.school_b):
            m.Task.objects.create(
                cycle=district.cycle,
                criterion=criterion,
                school=school,
                due_at=DUE + i * H,
                original_due_at=DUE + i * H,
                due_set_at=datetime(2026, 1, 5, tzinfo=UTC),
            )
    now = DUE - 5 * D

    reports, errors = at_once(*[lambda: sweep_run(now=now, batch_size=3)] * 4)

    assert errors == []
    assert m.Task.objects.filter(cycle=district.cycle).count() == 14  # the fixture's 2 and these 12
    assert m.Reminder.objects.filter(kind="at_risk", task__cycle=district.cycle).count() == 14
    # each reached its school's one account once, whichever sweep recorded it
    notes = m.Notification.objects.filter(kind="at_risk", task__cycle=district.cycle)
    assert notes.count() == 14
    assert notes.values("reminder", "recipient").distinct().count() == 14
    assert sum(r.reminders for r in reports) == m.Reminder.objects.count()
