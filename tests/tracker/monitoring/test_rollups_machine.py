"""A Hypothesis state machine of the rollups on PostgreSQL (CONTRACT section 10, issue 14).

Random sequences of transitions (start, progress, submit, approve, return with or without a rework
deadline), extensions, criterion edits that move deadlines, activations (a criterion added to the active
cycle materialises a task per school), a school moving to another unit and back, time passing with no
write, sweeps (forwards and back-dated) and flushes, over two schools whose deadlines and progress are
drawn around the clock so that deadlines and early-warning moments pass between steps. After every step
`rollups_diff` recounts everything from the tasks: the per-school and per-criterion rows as of their
clock, their edges, and what the overview and the criteria view (of the round, and of each unit) read
as of now, all equal.

Bounded for CI (30 examples x 20 steps, derandomised so a failure in CI reproduces locally).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.factories import criteria_add
from tracker import models as m
from tracker.assessment.cycle_services import criterion_update
from tracker.assessment.task_services import (
    task_approve,
    task_extend,
    task_progress,
    task_return,
    task_start,
    task_submit,
)
from tracker.assessment.transitions import TRANSITIONS
from tracker.monitoring.rollup_verify import rollups_diff
from tracker.monitoring.rollups import rollups_flush, rollups_rebuild
from tracker.monitoring.sweep import sweep_run
from tracker.org.services import unit_update

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)

hours = st.integers(min_value=-10 * 24, max_value=10 * 24)
hours_before = st.integers(min_value=1, max_value=40 * 24)
progresses = st.sampled_from([0, 0, 40, 80, 100])


def machine_for(district, seen: Counter) -> type[RuleBasedStateMachine]:
    criteria_add(district, [T0, T0], prefix="RM")
    m.Criterion.objects.filter(cycle=district.cycle).update(min_evidence=0)
    task_ids = list(m.Task.objects.filter(cycle=district.cycle).order_by("id").values_list("id", flat=True))
    school_users = {district.school_a.pk: district.school_a_user, district.school_b.pk: district.school_b_user}

    class RollupMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.atomic = transaction.atomic()  # each example in a savepoint, rolled back in teardown()
            self.atomic.__enter__()
            self.now = T0
            self.ready = False

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        @initialize(
            offsets=st.lists(hours, min_size=len(task_ids), max_size=len(task_ids)),
            set_before=st.lists(hours_before, min_size=len(task_ids), max_size=len(task_ids)),
            progress=st.lists(progresses, min_size=len(task_ids), max_size=len(task_ids)),
            built_at=hours,
        )
        def deadlines(self, offsets: list[int], set_before: list[int], progress: list[int], built_at: int) -> None:
            for pk, offset, before, done in zip(task_ids, offsets, set_before, progress, strict=True):
                m.Task.objects.filter(pk=pk).update(
                    due_at=T0 + offset * H, due_set_at=T0 - before * H, progress=done, last_activity_at=None
                )
            rollups_rebuild(now=T0 + built_at * H)
            self.ready = True

        def _pick(self, data, action: str) -> m.Task | None:
            sources = TRANSITIONS[action].sources
            eligible = list(m.Task.objects.filter(cycle=district.cycle, status__in=sources).order_by("id"))
            return data.draw(st.sampled_from(eligible)) if eligible else None

        # --- what people do -------------------------------------------------------------------
        @rule(data=st.data(), action=st.sampled_from(["start", "progress", "submit", "submit"]), progress=progresses)
        def school_acts(self, data, action: str, progress: int) -> None:
            task = self._pick(data, action)
            if task is None:
                return
            user = school_users[task.school_id]
            if action == "progress":
                task_progress(task=task.pk, actor=user, progress=progress, now=self.now)
            else:
                (task_start if action == "start" else task_submit)(task=task.pk, actor=user, now=self.now)
            seen[action] += 1

        @rule(data=st.data(), action=st.sampled_from(["approve", "return"]), rework=st.none() | hours)
        def supervisor_reviews(self, data, action: str, rework: int | None) -> None:
            task = self._pick(data, action)
            if task is None:  # nothing submitted: the school submits one first
                task = self._pick(data, "submit")
                if task is None:
                    return
                task_submit(task=task.pk, actor=school_users[task.school_id], now=self.now)
                seen["submit"] += 1
            if action == "approve":
                task_approve(task=task.pk, actor=district.supervisor, deductions=[], now=self.now)
            else:
                rework_due_at = None if rework is None else self.now + rework * H
                task_return(
                    task=task.pk, actor=district.supervisor, reason="redo", rework_due_at=rework_due_at, now=self.now
                )
            seen[action] += 1

        @rule(data=st.data(), later=st.integers(min_value=0, max_value=10 * 24))
        def extend(self, data, later: int) -> None:
            task = self._pick(data, "extend")
            if task is None:
                return
            task_extend(
                task=task.pk, actor=district.supervisor, due_at=task.due_at + later * H, reason="time", now=self.now
            )
            seen["extend"] += 1

        @rule(data=st.data(), offset=hours)
        def criterion_edit(self, data, offset: int) -> None:
            criterion = data.draw(
                st.sampled_from(list(m.Criterion.objects.filter(cycle=district.cycle).order_by("id")))
            )
            criterion_update(
                actor=district.supervisor, criterion=criterion, changes={"due_at": self.now + offset * H}, now=self.now
            )
            seen["criterion edit"] += 1

        @rule(offset=hours)
        def activation(self, offset: int) -> None:
            if m.Criterion.objects.filter(cycle=district.cycle).count() >= 6:
                return
            criteria_add(district, [self.now + offset * H], prefix="RA", now=self.now)
            m.Criterion.objects.filter(cycle=district.cycle).update(min_evidence=0)
            seen["activation"] += 1

        @rule(data=st.data())
        def school_moves(self, data) -> None:
            school = data.draw(st.sampled_from([district.school_a, district.school_b]))
            parent = m.Unit.objects.get(pk=school.pk).parent_id
            target = district.other_bureau if parent == district.bureau.pk else district.bureau
            unit_update(actor=district.supervisor, unit=school, changes={"parent": target})
            seen["school moves"] += 1

        # --- what the system does, and time ---------------------------------------------------
        @rule(minutes=st.integers(min_value=1, max_value=5 * 24 * 60))
        def time_passes(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)
            seen["time passes"] += 1

        @rule(minutes=st.integers(min_value=-2 * 24 * 60, max_value=5 * 24 * 60))
        def sweep(self, minutes: int) -> None:
            sweep_run(now=self.now + timedelta(minutes=minutes))
            seen["sweep back-dated" if minutes < 0 else "sweep"] += 1

        @rule()
        def flush(self) -> None:
            seen["flushed schools"] += rollups_flush(now=self.now)

        @invariant()
        def rollups_equal_a_recount(self) -> None:
            if self.ready:
                assert rollups_diff(now=self.now) is None
                seen["checked"] += 1

    return RollupMachine


def test_rollups_equal_a_recount_from_the_tasks_after_every_step(district):
    seen: Counter = Counter()
    run_state_machine_as_test(
        machine_for(district, seen),
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # the examples were not vacuous: every kind of step happened, and flushes recounted schools
    for step in (
        "start",
        "submit",
        "progress",
        "approve",
        "return",
        "extend",
        "criterion edit",
        "activation",
        "school moves",
        "time passes",
        "sweep",
        "sweep back-dated",
        "flushed schools",
    ):
        assert seen[step] > 0, (step, seen)
    assert seen["checked"] > 150, seen
