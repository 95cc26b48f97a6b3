"""A Hypothesis state machine of the sweep on PostgreSQL (docs/reliability.md, item 8).

Random sequences of submissions, returns (with or without a new deadline), extensions (later ones, and
earlier ones, which are refused and change nothing) and sweeps at random increasing times, over two
schools with three tasks each, their deadlines set at random times before and their progress drawn, so
that early warning finds some of them at risk and some not. Every action is
followed by the judgement its event handler makes (flags_rejudge as of the action's time). After every
step the database must equal the reference model (tests/tasks/sweep_oracle.py), and:

- each (task, kind, stage, due_at) is recorded at most once and notifies each recipient once (a moved
  deadline re-arms a task's reminders: CONTRACT, "a task whose due_at moves is reminded afresh");
- while nothing happens to a school's tasks its flag only escalates: same flag, severity never lower;
- once nothing of a school is overdue, it has no open flag.

Bounded for CI (50 examples x 20 steps, derandomised so a failure in CI reproduces locally; Hypothesis
switches rules off per example (swarm testing), and 30 examples left "return with a new deadline" out).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.factories import criteria_add
from tracker import models as m
from tracker.assessment.task_services import task_extend, task_return, task_submit
from tracker.assessment.transitions import TRANSITIONS
from tracker.errors import ValidationFailed
from tracker.monitoring.flags import flags_rejudge
from tracker.monitoring.sweep import sweep_run

from .sweep_oracle import RANK, Oracle

pytestmark = [pytest.mark.serial, pytest.mark.faults, pytest.mark.django_db]

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
TASKS_PER_SCHOOL = 3

hours = st.integers(min_value=-10 * 24, max_value=10 * 24)
hours_before = st.integers(min_value=1, max_value=40 * 24)
progresses = st.sampled_from([0, 0, 40, 80, 100])


def machine_for(district, seen: Counter) -> type[RuleBasedStateMachine]:
    """The machine over the district's cycle; `seen` counts what the examples exercised."""
    criteria_add(district, [T0] * (TASKS_PER_SCHOOL - 1), prefix="HM")
    m.Criterion.objects.filter(cycle=district.cycle).update(min_evidence=0)
    m.Task.objects.filter(cycle=district.other_cycle).update(due_at=datetime(2030, 1, 1, tzinfo=UTC))
    task_ids = list(m.Task.objects.filter(cycle=district.cycle).order_by("id").values_list("id", flat=True))
    schools = [district.school_a.pk, district.school_b.pk]
    assert len(task_ids) == TASKS_PER_SCHOOL * len(schools)

    class SweepMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # Each example runs in a savepoint of the test's transaction, rolled back in teardown().
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.now = T0
            self.oracle: Oracle | None = None
            self.touched: set[int] = set()
            self.last_flags: dict[int, tuple[int, str] | None] = {}

        def teardown(self) -> None:
            if self.oracle is not None:
                seen.update(kind for (_, kind, _, _) in self.oracle.reminders)
                flags = [flag for school in schools for flag in self.oracle.flags.get(school, [])]
                seen["flag opened"] += len(flags)
                seen["flag escalated"] += sum(flag.escalated for flag in flags)
                seen["flag resolved"] += sum(flag.resolved for flag in flags)
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        @initialize(
            offsets=st.lists(hours, min_size=len(task_ids), max_size=len(task_ids)),
            set_before=st.lists(hours_before, min_size=len(task_ids), max_size=len(task_ids)),
            progress=st.lists(progresses, min_size=len(task_ids), max_size=len(task_ids)),
        )
        def deadlines(self, offsets: list[int], set_before: list[int], progress: list[int]) -> None:
            for pk, offset, before, done in zip(task_ids, offsets, set_before, progress, strict=True):
                m.Task.objects.filter(pk=pk).update(
                    due_at=T0 + offset * H, due_set_at=T0 - before * H, progress=done, last_activity_at=None
                )
            self.oracle = Oracle.of(m.Task.objects.filter(pk__in=task_ids))

        # --- what people do -------------------------------------------------------------------
        def _pick(self, data, action: str) -> int | None:
            eligible = [pk for pk in task_ids if self.oracle.tasks[pk].status in TRANSITIONS[action].sources]
            return data.draw(st.sampled_from(eligible)) if eligible else None

        def _handled(self, pk: int) -> None:
            """What the event's handler does: judge the school again, as of the event."""
            school = self.oracle.tasks[pk].school
            flags_rejudge(now=self.now, cycle_id=district.cycle.pk, school_ids=[school])
            self.oracle.judge(self.now, [school])
            self.touched.add(school)

        @rule(data=st.data())
        def submit(self, data) -> None:
            pk = self._pick(data, "submit")
            if pk is None:
                return
            task_submit(task=pk, actor=district.school_a_user, now=self.now)
            seen["submit"] += 1
            self.oracle.act(pk, self.now, status="submitted")
            self._handled(pk)

        @rule(data=st.data(), rework=st.none() | hours)
        def return_(self, data, rework: int | None) -> None:
            pk = self._pick(data, "return")
            if pk is None:
                return
            rework_due_at = None if rework is None else self.now + rework * H
            task_return(task=pk, actor=district.supervisor, reason="redo", rework_due_at=rework_due_at, now=self.now)
            seen["return with a new deadline" if rework is not None else "return"] += 1
            self.oracle.act(pk, self.now, status="returned", due_at=rework_due_at)
            self._handled(pk)

        @rule(data=st.data(), offset=hours)
        def extend(self, data, offset: int) -> None:
            pk = self._pick(data, "extend")
            if pk is None:
                return
            due_at = self.now + offset * H
            if due_at < self.oracle.tasks[pk].due_at:
                before = m.Task.objects.filter(pk=pk).values().get()
                with pytest.raises(ValidationFailed):
                    task_extend(task=pk, actor=district.supervisor, due_at=due_at, reason="sooner", now=self.now)
                assert m.Task.objects.filter(pk=pk).values().get() == before
                seen["earlier extension refused"] += 1
                return
            task_extend(task=pk, actor=district.supervisor, due_at=due_at, reason="more time", now=self.now)
            seen["extend"] += 1
            self.oracle.act(pk, self.now, due_at=due_at)
            self._handled(pk)

        # --- what the system does -------------------------------------------------------------
        @rule(minutes=st.integers(min_value=0, max_value=5 * 24 * 60))
        def sweep(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)
            sweep_run(now=self.now)
            self.oracle.sweep(self.now)
            for school in schools:
                flag = (
                    m.Flag.objects.filter(school_id=school, resolved_at__isnull=True)
                    .values_list("id", "severity")
                    .first()
                )
                before = self.last_flags.get(school)
                if school not in self.touched and before is not None:
                    # nothing happened to the school, so its overdue work only grew: same flag, never milder
                    assert flag is not None and flag[0] == before[0], (school, before, flag)
                    assert RANK[flag[1]] >= RANK[before[1]], (school, before, flag)
                if self.oracle.overdue(school, self.now)[0] == 0:
                    assert flag is None, f"school {school} has nothing overdue but an open flag"
                self.last_flags[school] = flag
            self.touched.clear()
            seen["sweep"] += 1

        @invariant()
        def matches_the_model(self) -> None:
            if self.oracle is None:
                return
            self.oracle.assert_matches_database(schools)

        @invariant()
        def each_reminder_once(self) -> None:
            twice = (
                m.Notification.objects.filter(reminder__task__isnull=False)
                .values("recipient", "reminder__task", "reminder__kind", "reminder__stage", "reminder__due_at")
                .annotate(n=Count("id"))
                .filter(n__gt=1)
            )
            assert not twice.exists(), list(twice)

    return SweepMachine


def test_the_sweep_sends_once_never_loses_and_flags_escalate_then_resolve(district):
    seen: Counter = Counter()
    run_state_machine_as_test(
        machine_for(district, seen),
        settings=settings(
            max_examples=50,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # the examples were not vacuous: every action, every kind of reminder, every flag change happened
    wanted = ["submit", "return", "return with a new deadline", "extend", "earlier extension refused", "sweep"]
    wanted += ["due_soon", "overdue", "escalation", "at_risk", "flag opened", "flag escalated", "flag resolved"]
    assert all(seen[what] > 0 for what in wanted), seen
    print(f"[faults] item 8: {dict(seen)}")
