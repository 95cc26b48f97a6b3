"""Falling behind: thresholds, per-cycle overrides, open / escalate / drop back / resolve, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.factories import criteria_add, school_a_behind
from tracker import models as m
from tracker.assessment.cycle_services import criterion_update
from tracker.assessment.task_services import task_submit
from tracker.audit.dispatch import event_handle
from tracker.audit.events import events_verify
from tracker.monitoring.flags import Thresholds, flags_judge
from tracker.monitoring.sweep import sweep_run

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def add_criteria(district, dues: list[datetime]) -> None:
    """More criteria in the district's cycle (each makes a task per school); the fixture's own one
    is moved out of the way, far in the future."""
    m.Task.objects.filter(criterion=district.criterion).update(due_at=BASE + 365 * D)
    criteria_add(district, dues, prefix="F")


def flag_of(district, school=None) -> m.Flag | None:
    return m.Flag.objects.filter(
        cycle=district.cycle, school=school or district.school_a, resolved_at__isnull=True
    ).first()


NOW = BASE + 30 * D


@pytest.mark.parametrize(
    ("overdue_by", "severity"),
    [
        ([], None),
        ([1 * D], "warning"),
        ([H, 2 * D], "warning"),
        ([H, H, H], "critical"),  # 3 overdue tasks
        ([7 * D], "critical"),  # one task 7 days overdue
        ([7 * D - H], "warning"),
        ([6 * D, 1 * D], "warning"),
        ([-H, -D], None),  # due soon is not behind
    ],
)
def test_severity_thresholds(district, overdue_by, severity):
    add_criteria(district, [NOW - delta for delta in overdue_by])

    flags_judge(now=NOW)

    flag = flag_of(district)
    assert (flag.severity if flag else None) == severity
    if flag:
        overdue = [d for d in overdue_by if d > timedelta(0)]
        assert flag.overdue_count == len(overdue)
        assert flag.max_days_overdue == max(d for d in overdue).days


def test_cycle_thresholds_override_the_settings(district):
    m.Cycle.objects.filter(pk=district.cycle.pk).update(
        warning_overdue_tasks=2, critical_overdue_tasks=4, critical_days_overdue=10
    )
    add_criteria(district, [NOW - H])
    flags_judge(now=NOW)
    assert flag_of(district) is None  # 1 overdue < 2

    criteria_add(district, [NOW - 8 * D], prefix="G")
    flags_judge(now=NOW)
    assert flag_of(district).severity == "warning"  # 2 overdue, 8 days < 10

    flags_judge(now=NOW + 2 * D)
    assert flag_of(district).severity == "critical"  # now 10 days


def test_thresholds_read_settings_when_the_cycle_has_none(district, settings):
    settings.TRACKER = {**settings.TRACKER, "CRITICAL_OVERDUE_TASKS": 2}
    assert Thresholds.for_cycle(district.cycle).critical_overdue_tasks == 2


def test_flag_lifecycle_open_escalate_drop_back_resolve(district):
    add_criteria(district, [BASE, BASE + 2 * D, BASE + 4 * D])
    a = district.school_a

    # opens as a warning the day after the first deadline
    changes = flags_judge(now=BASE + D)
    flag = flag_of(district)
    assert (changes.opened, flag.severity, flag.escalated_at) == (2, "warning", None)  # school_a and school_b
    opened_at = flag.opened_at

    # escalates when a third task is overdue
    changes = flags_judge(now=BASE + 4 * D + H)
    flag.refresh_from_db()
    assert (changes.escalated, flag.severity, flag.escalated_at) == (2, "critical", BASE + 4 * D + H)

    # drops back to warning when two tasks are handed in (within 7 days of the oldest)
    for task in m.Task.objects.filter(school=a, due_at__in=[BASE + 2 * D, BASE + 4 * D]):
        m.Task.objects.filter(pk=task.pk).update(status=m.TaskStatus.SUBMITTED)
    changes = flags_judge(now=BASE + 5 * D)
    flag.refresh_from_db()
    assert (changes.severity_changed, flag.severity) == (1, "warning")
    assert flag.escalated_at == BASE + 4 * D + H  # the first time it became critical stays
    assert flag.opened_at == opened_at

    # resolves by itself when nothing is overdue
    m.Task.objects.filter(school=a, due_at=BASE).update(status=m.TaskStatus.SUBMITTED)
    changes = flags_judge(now=BASE + 5 * D + H)
    flag.refresh_from_db()
    assert (changes.resolved, flag.resolved_at) == (1, BASE + 5 * D + H)
    assert flag_of(district) is None

    # every change is an event about the flag, in the hash chain
    types = list(
        m.Event.objects.filter(subject_type="flag", subject_id=str(flag.pk))
        .order_by("id")
        .values_list("type", flat=True)
    )
    assert types == ["flag.opened", "flag.escalated", "flag.severity_changed", "flag.resolved"]
    assert events_verify().ok


def test_a_judgement_that_changes_nothing_records_nothing(district):
    add_criteria(district, [BASE])
    flags_judge(now=BASE + D)
    events = m.Event.objects.count()

    changes = flags_judge(now=BASE + D)

    assert changes.total == 0
    assert m.Event.objects.count() == events


def test_a_school_behind_again_gets_a_new_flag_and_never_two_open(district):
    add_criteria(district, [BASE, BASE + 10 * D])
    flags_judge(now=BASE + D)
    m.Task.objects.filter(school=district.school_a, due_at=BASE).update(status=m.TaskStatus.SUBMITTED)
    flags_judge(now=BASE + 2 * D)
    assert flag_of(district) is None

    flags_judge(now=BASE + 11 * D)

    flags = m.Flag.objects.filter(cycle=district.cycle, school=district.school_a)
    assert flags.count() == 2
    assert flags.filter(resolved_at__isnull=True).count() == 1


def test_the_database_refuses_a_second_open_flag(district):
    m.Flag.objects.create(cycle=district.cycle, school=district.school_a, severity="warning", opened_at=BASE)
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Flag.objects.create(cycle=district.cycle, school=district.school_a, severity="warning", opened_at=BASE)


def test_flags_of_inactive_cycles_are_not_judged(district):
    add_criteria(district, [BASE])
    m.Cycle.objects.filter(pk=district.cycle.pk).update(status=m.CycleStatus.CLOSED)

    flags_judge(now=BASE + 10 * D)

    assert not m.Flag.objects.filter(cycle=district.cycle).exists()


def test_flag_reminders_go_once_each_and_not_again_on_drop_back(district):
    add_criteria(district, [BASE, BASE + 2 * D, BASE + 4 * D])
    sweep_run(now=BASE + D)  # opens (warning)
    sweep_run(now=BASE + 4 * D + H)  # escalates
    m.Task.objects.filter(school=district.school_a, due_at__gt=BASE).update(status=m.TaskStatus.SUBMITTED)
    sweep_run(now=BASE + 5 * D)  # drops back to warning
    m.Task.objects.filter(school=district.school_a, due_at__gt=BASE).update(status=m.TaskStatus.IN_PROGRESS)
    sweep_run(now=BASE + 5 * D + H)  # critical again: not "first becomes critical"

    flag = m.Flag.objects.get(cycle=district.cycle, school=district.school_a)
    kinds = sorted(m.Reminder.objects.filter(flag=flag).values_list("kind", flat=True))
    assert kinds == ["flag_critical", "flag_opened"]


# --- Re-judged after every change (handlers) ------------------------------------------------------
def test_submitting_the_last_overdue_task_resolves_the_flag_through_its_event(
    district, django_capture_on_commit_callbacks
):
    now = timezone.now()
    task, flag = school_a_behind(district, now=now)
    assert flag_of(district) == flag

    task_submit(task=task, actor=district.school_a_user, now=now)
    event = m.Event.objects.filter(type="task.submitted", task=task).get()
    assert event_handle(event_id=event.pk)

    assert flag_of(district) is None
    assert m.Flag.objects.get(cycle=district.cycle, school=district.school_a).resolved_at is not None
    # handled once: a second delivery of the same event does nothing
    assert not event_handle(event_id=event.pk)


def test_moving_a_criterion_deadline_into_the_past_opens_flags_and_notifies(district):
    now = timezone.now()
    criterion_update(actor=district.supervisor, criterion=district.criterion, changes={"due_at": now - 3 * D})
    event = m.Event.objects.filter(type="criterion.updated").latest("id")

    event_handle(event_id=event.pk)

    for school in (district.school_a, district.school_b):
        assert flag_of(district, school).severity == "warning"
    assert m.Notification.objects.filter(kind="flag_opened", recipient=district.school_a_user).count() == 1
    assert m.Notification.objects.filter(kind="flag_opened", recipient=district.supervisor).count() == 2
    # the sweep after it finds the flag reminders already sent
    sweep_run(now=now + H)
    assert m.Reminder.objects.filter(kind="flag_opened", flag__cycle=district.cycle).count() == 2
