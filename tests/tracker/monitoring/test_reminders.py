"""Reminder stages, table-driven with an explicit `now` (CONTRACT section 2, Reminders)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tracker import models as m
from tracker.assessment.task_services import task_extend, task_progress
from tracker.monitoring.sweep import sweep_run

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # the district fixture's criterion
H = timedelta(hours=1)
D = timedelta(days=1)
# The fixture's tasks were set on 2026-01-05 and nobody has touched them: in the 14 days before their due
# time they are at risk (behind the expected progress, and stagnant), reminded once per due time.
AT_RISK = ("at_risk", 0)


def reminders_of(task) -> list[tuple[str, int]]:
    return sorted(m.Reminder.objects.filter(task=task).values_list("kind", "stage"))


def task_of(district, school) -> m.Task:
    return m.Task.objects.get(cycle=district.cycle, school=school)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (-15 * D, []),
        (-8 * D, [AT_RISK]),
        (-7 * D - H, [AT_RISK]),
        (-7 * D, [AT_RISK, ("due_soon", -7)]),
        (-3 * D, [AT_RISK, ("due_soon", -7)]),
        (-1 * D, [AT_RISK, ("due_soon", -1)]),
        (-H, [AT_RISK, ("due_soon", -1)]),
        (timedelta(0), [AT_RISK, ("due_soon", -1)]),
        (H, [("overdue", 0)]),
        (3 * D - H, [("overdue", 0)]),
        (3 * D, [("overdue", 3)]),
        (6 * D + 23 * H, [("overdue", 6)]),
        (7 * D, [("escalation", 7), ("overdue", 6)]),
        (10 * D, [("escalation", 7), ("overdue", 9)]),
        (40 * D, [("escalation", 7), ("overdue", 39)]),
    ],
)
def test_first_sweep_records_only_the_latest_stage_reached(district, offset, expected):
    # given a task nobody has reminded yet
    task = task_of(district, district.school_a)

    # when the first sweep sees it at this distance from its due time
    sweep_run(now=DUE + offset)

    # then it records exactly the latest stage of each kind, never the skipped ones
    assert reminders_of(task) == expected


@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_tasks_no_longer_owed_are_not_reminded(district, status):
    task = task_of(district, district.school_a)
    m.Task.objects.filter(pk=task.pk).update(status=status)

    sweep_run(now=DUE + 10 * D)

    assert reminders_of(task) == []


@pytest.mark.parametrize("status", ["not_started", "in_progress", "returned"])
def test_every_owed_status_is_reminded(district, status):
    task = task_of(district, district.school_a)
    m.Task.objects.filter(pk=task.pk).update(status=status)

    sweep_run(now=DUE + 4 * D)

    assert reminders_of(task) == [("overdue", 3)]


def test_successive_sweeps_send_each_stage_once_and_skip_missed_ones(district):
    task = task_of(district, district.school_a)
    timeline = [
        (-7 * D, [AT_RISK, ("due_soon", -7)]),
        (-3 * D, []),
        (-1 * D, [("due_soon", -1)]),
        (-1 * D + H, []),
        (H, [("overdue", 0)]),
        (1 * D, []),
        (3 * D + H, [("overdue", 3)]),
        # the sweeps at days 6 and 7 did not run: day 10 sends stage 9 and the escalation, not stage 6
        (10 * D, [("escalation", 7), ("overdue", 9)]),
        (11 * D, []),
        (12 * D, [("overdue", 12)]),
    ]
    seen: set[tuple[str, int]] = set()
    for offset, new in timeline:
        sweep_run(now=DUE + offset)
        now_seen = set(reminders_of(task))
        assert sorted(now_seen - seen) == new, offset
        seen = now_seen


def test_a_second_sweep_at_the_same_time_changes_nothing(district):
    first = sweep_run(now=DUE + 10 * D)
    notifications = m.Notification.objects.count()

    second = sweep_run(now=DUE + 10 * D)

    # three schools (two here, one in the other district): overdue 9 and escalation each, and a
    # critical flag each (10 days overdue), which reminds at flag_opened and flag_critical
    assert first.reminders == 3 * 2 + 3 * 2
    assert first.flag_changes == 3
    assert (second.reminders, second.flag_changes, second.notifications) == (0, 0, 0)
    assert m.Notification.objects.count() == notifications


def test_a_moved_due_at_rearms_the_reminders(district):
    task = task_of(district, district.school_a)
    sweep_run(now=DUE + H)
    assert reminders_of(task) == [("overdue", 0)]

    # when a supervisor extends the task by five days
    new_due = DUE + 5 * D
    task_extend(task=task, actor=district.supervisor, due_at=new_due, reason="storm", now=DUE + 2 * H)
    sweep_run(now=DUE + 3 * H)
    sweep_run(now=new_due + H)

    # then it is reminded afresh against the new due time
    rows = set(m.Reminder.objects.filter(task=task).values_list("kind", "stage", "due_at"))
    assert rows == {("overdue", 0, DUE), ("due_soon", -7, new_due), ("overdue", 0, new_due)}


def test_recipients_of_each_kind(district):
    a_user, sup = district.school_a_user, district.supervisor

    sweep_run(now=DUE - 3 * D)
    sweep_run(now=DUE + 8 * D)

    got = set(m.Notification.objects.filter(school=district.school_a).values_list("kind", "recipient_id"))
    assert got == {
        ("at_risk", a_user.pk),
        ("due_soon", a_user.pk),
        ("overdue", a_user.pk),
        ("escalation", sup.pk),
        ("flag_opened", a_user.pk),
        ("flag_opened", sup.pk),
        ("flag_critical", a_user.pk),
        ("flag_critical", sup.pk),
        # the discipline group hears of a school critically behind (issue 13, item 12), of nothing else here
        ("flag_critical", district.inspector.pk),
    }
    # never to another school's accounts or another district
    outsiders = {district.school_b_user.pk, district.other_supervisor.pk, district.other_school_user.pk}
    assert not m.Notification.objects.filter(school=district.school_a, recipient_id__in=outsiders).exists()


def test_each_notification_is_keyed_by_recipient_and_reminder(district):
    sweep_run(now=DUE + 10 * D)
    sweep_run(now=DUE + 10 * D + H)

    reminders = list(m.Reminder.objects.all())
    # three schools' tasks (overdue 9 and escalation) and three critical flags (opened and critical)
    assert Counter(r.kind for r in reminders) == {"overdue": 3, "escalation": 3, "flag_opened": 3, "flag_critical": 3}
    for reminder in reminders:
        recipients = list(reminder.notifications.values_list("recipient_id", flat=True))
        assert len(recipients) == len(set(recipients)) >= 1


def test_progress_does_not_stop_reminders_but_submitting_does(district):
    task = task_of(district, district.school_a)
    task_progress(task=task, actor=district.school_a_user, progress=50, now=DUE - 2 * D)

    sweep_run(now=DUE - 1 * D)
    # half done a day before the deadline is at risk (expected: 99 %), and reminded
    assert reminders_of(task) == [AT_RISK, ("due_soon", -1)]


def test_reminders_of_closed_or_draft_cycles_are_not_sent(district):
    m.Cycle.objects.filter(pk=district.cycle.pk).update(status=m.CycleStatus.CLOSED)

    report = sweep_run(now=DUE + 10 * D)

    assert not m.Reminder.objects.filter(task__cycle=district.cycle).exists()
    # the other district's cycle is active and is swept: overdue, escalation, flag_opened, flag_critical
    assert report.reminders == 4
