"""The rollup tables (CONTRACT section 10): marked dirty by every task write, recounted exactly, read as
of any time through the deadline buckets, and verified against the tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from tests.factories import EvidenceFactory, criteria_add
from tracker import models as m
from tracker.assessment.cycle_services import criterion_update
from tracker.assessment.task_services import task_approve, task_extend, task_progress, task_return, task_submit
from tracker.integrity.rectification_services import rectification_create
from tracker.monitoring.rollup_edges import US
from tracker.monitoring.rollup_models import RoundKind
from tracker.monitoring.rollup_verify import rollups_diff
from tracker.monitoring.rollups import rollups_advance, rollups_flush, rollups_rebuild, rules_key
from tracker.reporting.overview import overview_schools

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
D = timedelta(days=1)


def dirty(district) -> set[int]:
    return set(
        m.RollupDirty.objects.filter(round_kind=RoundKind.CYCLE, round_id=district.cycle.pk).values_list(
            "school_id", flat=True
        )
    )


@pytest.fixture
def busy(district):
    """The district's cycle with four criteria, deadlines around T0, tasks in every state."""
    criteria_add(district, [T0 - 3 * D, T0 + 2 * D, T0 + 10 * D], prefix="R", now=T0 - 30 * D)
    m.Criterion.objects.filter(cycle=district.cycle).update(min_evidence=0)
    a = list(m.Task.objects.filter(cycle=district.cycle, school=district.school_a).order_by("due_at"))
    task_progress(task=a[0], actor=district.school_a_user, progress=10, now=T0 - 20 * D)
    task_submit(task=a[1], actor=district.school_a_user, now=T0 - 5 * D)
    task_approve(task=a[1], actor=district.supervisor, deductions=[], now=T0 - 4 * D)
    task_extend(task=a[2], actor=district.supervisor, due_at=T0 + 15 * D, reason="more time", now=T0 - 2 * D)
    b = list(m.Task.objects.filter(cycle=district.cycle, school=district.school_b).order_by("due_at"))
    task_submit(task=b[0], actor=district.school_b_user, now=T0 - D)
    task_return(task=b[0], actor=district.supervisor, reason="redo", rework_due_at=T0 + 3 * D, now=T0 - D / 2)
    return district


def read(district, now):
    return overview_schools(cycle=district.cycle, roots=(district.bureau.pk,), now=now, as_json=False)


def scanned(district, now):
    """The same overview with the rollups unreadable: one GROUP BY over the tasks."""
    clock = m.RollupClock.objects.filter(round_kind=RoundKind.CYCLE, round_id=district.cycle.pk)
    rules = list(clock.values_list("rules", flat=True))
    clock.update(rules="other")
    try:
        return read(district, now)
    finally:
        if rules:
            clock.update(rules=rules[0])


def test_every_task_write_marks_its_school_dirty_even_outside_the_services(busy):
    rollups_rebuild(now=T0)
    assert dirty(busy) == set()

    m.Task.objects.filter(school=busy.school_b, cycle=busy.cycle).update(note="by hand")

    assert dirty(busy) == {busy.school_b.pk}
    assert rollups_diff(now=T0) is None


def test_rows_read_from_the_rollups_equal_the_scan_at_every_moment_around_every_deadline(busy):
    rollups_rebuild(now=T0)
    assert dirty(busy) == set()
    moments = {T0 - 40 * D, T0, T0 + 40 * D}
    for at in m.RollupEdge.objects.values_list("at", flat=True):
        moments |= {at - US, at, at + US, at + 2 * US}

    for now in sorted(moments):
        assert read(busy, now).rows == scanned(busy, now).rows, now


def test_a_flush_recounts_dirty_schools_and_a_sweep_moves_the_clock(busy):
    rollups_rebuild(now=T0)
    task = m.Task.objects.filter(cycle=busy.cycle, school=busy.school_b, status="not_started").first()
    task_submit(task=task, actor=busy.school_b_user, now=T0 + D)
    assert dirty(busy) == {busy.school_b.pk}
    expected = scanned(busy, T0 + D).rows

    assert read(busy, T0 + D).rows == expected  # the dirty school counted from its tasks
    assert rollups_flush(now=T0 + D) == 1
    assert dirty(busy) == set()
    assert read(busy, T0 + D).rows == expected  # from its row again
    assert rollups_advance(now=T0 + 6 * D) >= 1
    assert m.RollupClock.objects.get(round_kind=RoundKind.CYCLE, round_id=busy.cycle.pk).as_of == T0 + 6 * D
    assert rollups_diff(now=T0 + 6 * D) is None
    assert read(busy, T0 + 2 * D).rows == scanned(busy, T0 + 2 * D).rows  # read back in time


def test_a_criterion_edit_moving_deadlines_is_counted(busy):
    rollups_rebuild(now=T0)
    criterion = m.Criterion.objects.get(cycle=busy.cycle, code="R003")
    criterion_update(actor=busy.supervisor, criterion=criterion, changes={"due_at": T0 - D}, now=T0)

    assert rollups_diff(now=T0) is None
    rollups_flush(now=T0)
    assert rollups_diff(now=T0) is None
    assert read(busy, T0).rows == scanned(busy, T0).rows


def test_changed_early_warning_settings_are_never_read_from_old_edges(busy, settings):
    rollups_rebuild(now=T0)
    settings.TRACKER = {**settings.TRACKER, "EARLY_WARNING_DAYS": 3}

    assert read(busy, T0 + D).rows == scanned(busy, T0 + D).rows
    rollups_advance(now=T0 + D)  # the sweep rebuilds the round under the new settings
    assert m.RollupClock.objects.get(round_kind=RoundKind.CYCLE, round_id=busy.cycle.pk).rules == rules_key()
    assert rollups_diff(now=T0 + D) is None


def test_rollups_verify_prints_ok_or_the_first_difference(busy, capsys):
    rollups_rebuild(now=T0)
    call_command("rollups_verify", now=T0.isoformat())
    assert capsys.readouterr().out.strip() == "ok"

    row = m.SchoolRollup.objects.get(round_id=busy.cycle.pk, school_id=busy.school_a.pk)
    m.SchoolRollup.objects.filter(pk=row.pk).update(approved=row.approved + 1)
    with pytest.raises(CommandError, match=f"school {busy.school_a.pk}: expected"):
        call_command("rollups_verify", now=T0.isoformat())


def test_deleting_a_criterion_removes_its_tasks_from_the_rollups(busy):
    (extra,) = criteria_add(busy, [T0 - D], prefix="X", now=T0 - 10 * D)
    rollups_rebuild(now=T0)
    assert read(busy, T0).totals["tasks"] == 2 * 5
    m.Criterion.objects.filter(pk=extra.pk).delete()

    assert rollups_diff(now=T0) is None
    rollups_flush(now=T0)
    assert rollups_diff(now=T0) is None
    assert read(busy, T0).totals["tasks"] == 2 * 4


def test_rectifications_are_rolled_up_per_campaign(district):
    # given a rectification for school A (in the authority's case-rectification campaign, made on first use)
    task = rectification_create(
        actor=district.supervisor,
        school=district.school_a,
        campaign=None,
        description="fees charged twice",
        rectify_by=T0 + 2 * D,
        now=T0,
    )
    rollups_rebuild(now=T0)
    row = m.SchoolRollup.objects.get(round_kind=RoundKind.CAMPAIGN, round_id=task.campaign_id)
    assert (row.school_id, row.tasks, row.not_started, row.overdue) == (district.school_a.pk, 1, 1, 0)

    # when it is submitted in time and approved
    EvidenceFactory(task=task)
    task_submit(task=task, actor=district.school_a_user, now=T0 + D)
    task_approve(task=task, actor=district.supervisor, deductions=[], now=T0 + D)

    # then the campaign's school is dirty until flushed, and exact either way
    assert set(m.RollupDirty.objects.filter(round_kind=RoundKind.CAMPAIGN).values_list("school_id", flat=True)) == {
        district.school_a.pk
    }
    assert rollups_diff(now=T0 + 3 * D) is None
    rollups_flush(now=T0 + D)
    row = m.SchoolRollup.objects.get(round_kind=RoundKind.CAMPAIGN, round_id=task.campaign_id)
    assert (row.tasks, row.approved, row.approved_in_time) == (1, 1, 1)
    assert rollups_diff(now=T0 + 3 * D) is None
