"""One definition per rule: the database form (a Q object, an expression, a SQL fragment) and the Python
form of each rule answer alike on the same rows, boundary times included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Q

from tests.factories import CriterionFactory, SchoolFactory, UnitFactory
from tracker import models as m
from tracker.assessment.rules import (
    UPCOMING_DAYS,
    DaysOverdue,
    days_overdue,
    is_open,
    is_upcoming,
    open_q,
    overdue_q,
    task_days_overdue,
    task_is_overdue,
    upcoming_q,
)
from tracker.monitoring.rules import (
    BehindCurve,
    EarlyWarning,
    Stages,
    at_risk_q,
    due_soon_stage,
    due_soon_stage_expression,
    due_soon_window_q,
    overdue_stage,
    overdue_stage_expression,
    task_is_at_risk,
    urge_is_overdue,
    urge_overdue_q,
)
from tracker.org.tree import ancestor_ids, descendant_ids, nearest_authorities, school_ids_under
from tracker.reporting.rules import RATES, rate, rate_sql, rates
from tracker.sql import expression_sql, named, where_sql

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 10, 9, 30, 15, 250000, tzinfo=UTC)
TINY = timedelta(microseconds=1)
DAY = timedelta(days=1)
S = m.TaskStatus

# Due times around every boundary the rules draw: now, whole days before it, the 1/7/14-day horizons.
DUE_TIMES = sorted(
    {
        NOW + offset + nudge
        for offset in (
            -20 * DAY,
            -7 * DAY,
            -3 * DAY,
            -DAY,
            timedelta(0),
            DAY,
            7 * DAY,
            UPCOMING_DAYS * DAY,
            30 * DAY,
        )
        for nudge in (-TINY, timedelta(0), TINY, timedelta(hours=-5))
    }
)


@pytest.fixture
def tasks(district) -> list[m.Task]:
    """One task per (status, due time) pair, each of its own criterion."""
    made = []
    for status in S.values:
        for due_at in DUE_TIMES:
            criterion = CriterionFactory(cycle=district.cycle, due_at=due_at)
            made.append(
                m.Task.objects.create(
                    cycle=district.cycle,
                    criterion=criterion,
                    school=district.school_a,
                    status=status,
                    due_at=due_at,
                    original_due_at=due_at,
                    due_set_at=NOW - 30 * DAY,
                )
            )
    assert len(made) == len(S.values) * len(DUE_TIMES) > 100
    return made


def ids(q: Q) -> set[int]:
    return set(m.Task.objects.filter(q).values_list("id", flat=True))


def raw_ids(q: Q, pool: list[m.Task]) -> set[int]:
    """The Q compiled into a hand-written statement (as the reminder planner does), run by hand."""
    where, params = named(*where_sql(m.Task, q, alias="t"), "p")
    params["ids"] = [t.pk for t in pool]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.id FROM tracker_task t WHERE t.id = ANY(%(ids)s) AND {where}", params)
        return {row[0] for row in cursor.fetchall()}


def test_open_statuses_in_the_database_and_in_python(tasks):
    pool = {t.pk for t in tasks}
    expected = {t.pk for t in tasks if is_open(t.status)}
    assert ids(open_q()) & pool == expected == raw_ids(open_q(), tasks)
    assert expected and expected != pool


def test_overdue_in_the_database_and_in_python(tasks):
    pool = {t.pk for t in tasks}
    expected = {t.pk for t in tasks if task_is_overdue(t, NOW)}
    assert ids(overdue_q(NOW)) & pool == expected == raw_ids(overdue_q(NOW), tasks)
    # The boundary: due exactly now is not overdue yet, a microsecond earlier is.
    at_now = {t.pk for t in tasks if t.due_at == NOW and is_open(t.status)}
    just_before = {t.pk for t in tasks if t.due_at == NOW - TINY and is_open(t.status)}
    assert at_now and not at_now & expected
    assert just_before and just_before <= expected


def test_overdue_through_a_relation_prefix_matches_too(district, tasks):
    through = set(
        m.Criterion.objects.filter(overdue_q(NOW, prefix="tasks__"), cycle=district.cycle).values_list(
            "tasks", flat=True
        )
    )
    assert through == {t.pk for t in tasks if task_is_overdue(t, NOW)}


def test_days_overdue_in_the_database_and_in_python(tasks):
    annotated = dict(
        m.Task.objects.filter(pk__in=[t.pk for t in tasks]).annotate(d=DaysOverdue(NOW)).values_list("id", "d")
    )
    assert annotated == {t.pk: days_overdue(NOW, t.due_at) for t in tasks}
    assert {annotated[t.pk] for t in tasks} >= {0, 1, 3, 7, 19, 20}
    # The same expression compiled into a hand-written statement.
    sql, params = expression_sql(m.Task, DaysOverdue(NOW), alias="t")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.id, {sql} FROM tracker_task t WHERE t.id = ANY(%s)", [*params, list(annotated)])
        assert dict(cursor.fetchall()) == annotated


def test_a_tasks_days_overdue_is_zero_unless_it_is_overdue(tasks):
    for task in tasks:
        expected = days_overdue(NOW, task.due_at) if task_is_overdue(task, NOW) else 0
        assert task_days_overdue(task, NOW) == expected
    assert any(task_days_overdue(t, NOW) for t in tasks)


def test_upcoming_in_the_database_and_in_python(tasks):
    pool = {t.pk for t in tasks}
    expected = {t.pk for t in tasks if is_upcoming(status=t.status, due_at=t.due_at, now=NOW)}
    assert ids(upcoming_q(NOW)) & pool == expected
    horizon = NOW + UPCOMING_DAYS * DAY
    assert {t.due_at for t in tasks if t.pk in expected} >= {NOW, horizon - TINY}
    assert horizon not in {t.due_at for t in tasks if t.pk in expected}


# --- At risk: every combination around the boundaries of window, curve and stagnation -------------------------
WARNING = EarlyWarning(days=14, margin=30, stagnation_days=14)
# With its deadline set 10 days ago and due in 10, a task is expected at 50 %: 19 % is behind (19 + 30 < 50),
# 20 % exactly on the margin (not behind), 21 % ahead of it.
RISK_DUE = [NOW + d for d in (-DAY, -TINY, timedelta(0), 10 * DAY, 14 * DAY, 14 * DAY + TINY)]
RISK_SET = [NOW - 10 * DAY, NOW - 14 * DAY, NOW - 14 * DAY + TINY, NOW, NOW + DAY]
RISK_PROGRESS = [0, 19, 20, 21, 100]
RISK_ACTIVITY = [None, NOW - 14 * DAY, NOW - 14 * DAY + TINY]


@pytest.fixture
def risk_tasks(district) -> list[m.Task]:
    """One task per (status, due, deadline set, progress, last activity), each of its own criterion."""
    combos = [
        (status, due_at, set_at, progress, activity)
        for status in (S.NOT_STARTED, S.IN_PROGRESS, S.RETURNED, S.SUBMITTED)
        for due_at in RISK_DUE
        for set_at in RISK_SET
        for progress in RISK_PROGRESS
        for activity in RISK_ACTIVITY
    ]
    criteria = m.Criterion.objects.bulk_create(
        [
            m.Criterion(cycle=district.cycle, code=f"R{i}", title="risk", category="c", due_at=NOW, max_score=5)
            for i in range(len(combos))
        ]
    )
    return m.Task.objects.bulk_create(
        [
            m.Task(
                cycle=district.cycle,
                criterion=criterion,
                school=district.school_a,
                status=status,
                due_at=due_at,
                original_due_at=due_at,
                due_set_at=set_at,
                progress=progress,
                last_activity_at=activity,
            )
            for criterion, (status, due_at, set_at, progress, activity) in zip(criteria, combos, strict=True)
        ]
    )


def test_at_risk_in_the_database_and_in_python(risk_tasks):
    pool = {t.pk for t in risk_tasks}
    expected = {t.pk for t in risk_tasks if task_is_at_risk(t, NOW, WARNING)}
    assert ids(at_risk_q(NOW, WARNING)) & pool == expected == raw_ids(at_risk_q(NOW, WARNING), risk_tasks)
    # the rule's parts each decide some tasks: behind only, stagnant only, both, neither
    behind = {
        t.pk
        for t in risk_tasks
        if t.due_set_at < NOW and (t.progress + 30) * (t.due_at - t.due_set_at) < 100 * (NOW - t.due_set_at)
    }
    quiet = {
        t.pk
        for t in risk_tasks
        if t.due_set_at <= NOW - 14 * DAY and (t.last_activity_at is None or t.last_activity_at <= NOW - 14 * DAY)
    }
    assert expected & (behind - quiet) and expected & (quiet - behind) and expected & behind & quiet
    assert 0 < len(expected) < len(pool) / 4


def test_at_risk_boundaries(risk_tasks):
    def risky(**match) -> set[bool]:
        found = {
            task_is_at_risk(t, NOW, WARNING) for t in risk_tasks if all(getattr(t, k) == v for k, v in match.items())
        }
        assert found, match
        return found

    recent = {"due_set_at": NOW - 10 * DAY, "due_at": NOW + 10 * DAY, "last_activity_at": NOW - 14 * DAY + TINY}
    # the curve: 19 % behind, 20 % on the margin, 21 % ahead
    assert risky(status=S.IN_PROGRESS, progress=19, **recent) == {True}
    assert risky(status=S.IN_PROGRESS, progress=20, **recent) == {False}
    # stagnation: nothing for exactly 14 days is stagnant, a microsecond less is not
    quiet = {"due_set_at": NOW - 14 * DAY, "due_at": NOW + 14 * DAY, "progress": 100}
    assert risky(status=S.IN_PROGRESS, last_activity_at=NOW - 14 * DAY, **quiet) == {True}
    assert risky(status=S.IN_PROGRESS, last_activity_at=NOW - 14 * DAY + TINY, **quiet) == {False}
    # the window: due exactly now is judged, a microsecond ago is overdue (not at risk), past 14 days is not yet
    assert risky(status=S.NOT_STARTED, due_at=NOW, due_set_at=NOW - 10 * DAY, progress=0) == {True}
    assert risky(status=S.NOT_STARTED, due_at=NOW - TINY) == {False}
    assert risky(status=S.NOT_STARTED, due_at=NOW + 14 * DAY + TINY) == {False}
    # only open tasks; a deadline set in the future (a back-dated sweep) is not behind, even done
    assert risky(status=S.SUBMITTED) == {False}
    assert risky(due_set_at=NOW + DAY, due_at=NOW, progress=100) == {False}
    assert risky(due_set_at=NOW + DAY, due_at=NOW, progress=0) == {False}


def test_at_risk_through_a_relation_prefix_matches_too(district, risk_tasks):
    through = set(
        m.Criterion.objects.filter(at_risk_q(NOW, WARNING, prefix="tasks__"), cycle=district.cycle).values_list(
            "tasks", flat=True
        )
    )
    assert through == {t.pk for t in risk_tasks if task_is_at_risk(t, NOW, WARNING)}


def test_not_at_risk_is_the_complement(risk_tasks):
    pool = {t.pk for t in risk_tasks}
    excluded = set(m.Task.objects.filter(pk__in=pool).exclude(at_risk_q(NOW, WARNING)).values_list("id", flat=True))
    assert excluded == pool - {t.pk for t in risk_tasks if task_is_at_risk(t, NOW, WARNING)}


def test_behind_curve_compiles_its_parameters_in_order(risk_tasks):
    """The expression's SQL has the margin before the time; both must land on their own placeholders."""
    sql, params = expression_sql(m.Task, BehindCurve(NOW, 30), alias="t")
    assert params == [30, NOW]
    assert sql.count("%s") == 2


def test_due_soon_stages_in_the_database_and_in_python(tasks):
    stages = Stages(due_soon_days=(1, 7), overdue_every_days=3, escalation_days=7)
    rows = dict(
        m.Task.objects.filter(pk__in=[t.pk for t in tasks])
        .filter(due_soon_window_q(NOW, stages))
        .annotate(stage=due_soon_stage_expression(NOW, stages))
        .values_list("id", "stage")
    )
    expected = {t.pk: due_soon_stage(NOW, t.due_at, stages) for t in tasks}
    assert rows == {pk: stage for pk, stage in expected.items() if stage is not None}
    assert set(rows.values()) == {-1, -7}
    by_due = {t.due_at: expected[t.pk] for t in tasks}
    assert (by_due[NOW], by_due[NOW + DAY], by_due[NOW + DAY + TINY], by_due[NOW + 7 * DAY]) == (-1, -1, -7, -7)
    assert by_due[NOW - TINY] is None and by_due[NOW + 7 * DAY + TINY] is None


@pytest.mark.parametrize("every", [1, 3, 4])
def test_overdue_stages_in_the_database_and_in_python(tasks, every):
    stages = Stages(due_soon_days=(1, 7), overdue_every_days=every, escalation_days=7)
    overdue = [t for t in tasks if task_is_overdue(t, NOW)]
    rows = dict(
        m.Task.objects.filter(pk__in=[t.pk for t in overdue])
        .annotate(stage=overdue_stage_expression(NOW, stages))
        .values_list("id", "stage")
    )
    assert rows == {t.pk: overdue_stage(NOW, t.due_at, stages) for t in overdue}
    assert all(stage % every == 0 for stage in rows.values())
    assert len(set(rows.values())) > 2


def test_urge_overdue_in_the_database_and_in_python(district):
    urges = [
        m.Urge.objects.create(
            cycle=district.cycle,
            school=district.school_a,
            message="hurry",
            respond_by=respond_by,
            created_at=NOW - 10 * DAY,
            responded_at=responded_at,
        )
        for respond_by in (NOW - DAY, NOW - TINY, NOW, NOW + TINY)
        for responded_at in (None, NOW - 2 * DAY)
    ]
    found = set(m.Urge.objects.filter(urge_overdue_q(NOW)).values_list("id", flat=True))
    expected = {u.pk for u in urges if urge_is_overdue(responded_at=u.responded_at, respond_by=u.respond_by, now=NOW)}
    assert found == expected
    assert len(expected) == 2


@pytest.mark.parametrize(("part", "whole"), [(0, 0), (3, 0), (0, 4), (1, 3), (2, 2), (7, 9)])
def test_a_rate_in_sql_and_in_python(part, whole):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {rate_sql('%s', '%s')}", [part, whole])
        (in_sql,) = cursor.fetchone()
    expected = rate(part, whole)
    if whole == 0:
        assert in_sql is None
        assert expected is None
    else:
        assert in_sql == pytest.approx(expected)


def test_every_rate_is_its_counts_quotient():
    counts = {"tasks": 4, "approved": 1, "on_time": 2, "due_passed": 0, "on_time_original": 1, "original_due_passed": 3}
    assert rates(counts) == {"completion_rate": 0.25, "on_time_rate": None, "on_time_original_rate": 1 / 3}
    assert {name for name, _, _ in RATES} == {"completion_rate", "on_time_rate", "on_time_original_rate"}


# --- The tree: one walk, compared with a plain Python walk over the units ----------------------------------
@pytest.fixture
def tree(db):
    """province > (city A > (district A1 > 2 schools, a school), city B > district B1 > school)."""
    province = UnitFactory(code="P")
    city_a = UnitFactory(code="CA", parent=province)
    city_b = UnitFactory(code="CB", parent=province)
    a1 = UnitFactory(code="A1", parent=city_a)
    b1 = UnitFactory(code="B1", parent=city_b)
    for code, parent in [("S1", a1), ("S2", a1), ("S3", city_a), ("S4", b1)]:
        SchoolFactory(code=code, parent=parent)
    return {u.code: u for u in m.Unit.objects.all()}


def walk_down(units, root_ids):
    found = set(root_ids)
    while True:
        more = {u.pk for u in units.values() if u.parent_id in found} - found
        if not more:
            return found
        found |= more


def walk_up(units, unit_id):
    by_id = {u.pk: u for u in units.values()}
    chain = [unit_id]
    while by_id[chain[-1]].parent_id is not None:
        chain.append(by_id[chain[-1]].parent_id)
    return chain


def test_the_tree_walks_agree_with_a_python_walk(tree):
    by_id = {u.pk: u for u in tree.values()}
    for roots in (["P"], ["CA"], ["A1", "CA"], ["B1", "S3"], ["S1"]):
        root_ids = [tree[c].pk for c in roots]
        down = walk_down(tree, root_ids)
        assert descendant_ids(root_ids) == down
        strictly = walk_down(tree, {u.pk for u in tree.values() if u.parent_id in root_ids})
        assert descendant_ids(root_ids, include_self=False) == strictly
        assert school_ids_under(root_ids) == {i for i in down if by_id[i].kind == m.UnitKind.SCHOOL}
    for unit in tree.values():
        up = walk_up(tree, unit.pk)
        assert ancestor_ids([unit.pk]) == set(up)
        assert ancestor_ids([unit.pk], include_self=False) == set(up[1:])
        nearest = next((i for i in up[1:] if by_id[i].kind == m.UnitKind.AUTHORITY), None)
        assert nearest_authorities([unit.pk]) == {unit.pk: nearest}
    assert nearest_authorities([tree["S1"].pk, tree["S3"].pk]) == {
        tree["S1"].pk: tree["A1"].pk,
        tree["S3"].pk: tree["CA"].pk,
    }
