"""api/task_rows.py writes a task exactly as DRF's own field machinery writes the same declared fields:
for tasks in every state, of both kinds, in the list's and in the detail's shape, in both languages' time zone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from api.serializers import TaskDetailSerializer, TaskSerializer
from api.task_rows import ROW_COLUMNS, every_task_row, task_row, task_rows
from api.views import TaskViewSet
from tests.conftest import CALLERS, Province
from tests.factories import EvidenceFactory
from tracker import models as m
from tracker import scope
from tracker.assessment.rules import task_days_overdue, task_is_overdue
from tracker.assessment.task_services import task_approve, task_progress, task_return, task_start, task_submit
from tracker.inspections.case_rectification import case_rectify
from tracker.monitoring.rules import task_is_at_risk


def drf_own(serializer_class, task: m.Task, now) -> dict:
    """What DRF's generic ModelSerializer gives for the declared fields (the judged ones set on the task)."""
    task.is_overdue = task_is_overdue(task, now)
    task.days_overdue = task_days_overdue(task, now)
    task.is_at_risk = task_is_at_risk(task, now)
    return serializers.ModelSerializer.to_representation(serializer_class(context={"now": now}), task)


@pytest.fixture
def tasks_in_every_state(district, casework, task_a, task_b):
    d = district
    now = timezone.now()
    # task_a: approved with a deduction; task_b: returned with a rework deadline; the other: not started.
    EvidenceFactory(task=task_a, uploaded_by=d.school_a_user)
    task_start(task=task_a, actor=d.school_a_user)
    task_progress(task=task_a, actor=d.school_a_user, progress=80, note="almost")
    task_submit(task=task_a, actor=d.school_a_user)
    task_approve(task=task_a, actor=d.supervisor, deductions=["D2"], comment="late minutes")
    EvidenceFactory(task=task_b, uploaded_by=d.school_b_user)
    task_start(task=task_b, actor=d.school_b_user)
    task_submit(task=task_b, actor=d.school_b_user)
    task_return(task=task_b, actor=d.supervisor, reason="redo", rework_due_at=now + timedelta(days=3))
    rectification = case_rectify(
        actor=d.inspector, case=casework.reported, description="整改", rectify_by=now + timedelta(days=10)
    )
    ids = [
        task_a.pk,
        task_b.pk,
        rectification.pk,
        *m.Task.objects.filter(cycle=d.other_cycle).values_list("pk", flat=True),
    ]
    return list(TaskViewSet._with_rows(m.Task.objects.filter(pk__in=ids)).order_by("id"))


@pytest.mark.parametrize("serializer_class", [TaskSerializer, TaskDetailSerializer])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_a_task_is_written_as_drf_writes_its_fields(tasks_in_every_state, serializer_class, zone):
    now = timezone.now()
    kinds = {task.kind for task in tasks_in_every_state}
    statuses = {task.status for task in tasks_in_every_state}
    assert kinds == {m.TaskKind.ASSESSMENT, m.TaskKind.RECTIFICATION}
    assert {m.TaskStatus.APPROVED, m.TaskStatus.RETURNED, m.TaskStatus.NOT_STARTED} <= statuses
    with timezone.override(zone):
        for task in tasks_in_every_state:
            fast = serializer_class(task, context={"now": now}).data
            assert fast == drf_own(serializer_class, task, now), task
            assert list(fast) == list(serializer_class().fields)  # the declared fields, in their order


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_the_lists_rows_are_written_as_one_task_is(tasks_in_every_state, zone):
    # given: the same tasks as the list reads them (columns, no instances) and as instances
    now = timezone.now()
    ids = [task.pk for task in tasks_in_every_state]
    rows = TaskViewSet._with_rows(m.Task.objects.filter(pk__in=ids)).order_by("id").values(*ROW_COLUMNS)
    # when / then
    with timezone.override(zone):
        assert task_rows(rows, now=now) == [task_row(task, now=now) for task in tasks_in_every_state]


def test_the_list_answers_each_task_as_the_serializer_writes_it(tasks_in_every_state, district, client_for):
    # given: the district's supervisor, who sees the district's tasks of both kinds in several states
    seen = [task for task in tasks_in_every_state if task.school.parent_id == district.bureau.pk]
    assert {task.kind for task in seen} == {m.TaskKind.ASSESSMENT, m.TaskKind.RECTIFICATION}
    # when
    response = client_for(district.supervisor).get("/api/v1/tasks/", {"ordering": "id", "page_size": 500})
    # then
    assert response.status_code == 200
    by_id = {row["id"]: row for row in response.json()["results"]}
    assert set(by_id) >= {task.pk for task in seen}
    for task in seen:
        assert by_id[task.pk] == TaskSerializer(task).data, task


def test_every_task_row_is_a_fresh_queryset_of_every_task_for_each_caller(tasks_in_every_state):
    # given: one caller's rows read, and narrowed
    first = every_task_row()
    assert len(list(first.filter(pk=tasks_in_every_state[0].pk))) == 1
    # when
    second = every_task_row()
    # then: another queryset, read afresh: every task, in the list's columns
    assert second is not first and second.query is not first.query
    rows = list(second.order_by("id"))
    assert [row["id"] for row in rows] == list(m.Task.objects.order_by("id").values_list("id", flat=True))
    assert rows == list(TaskViewSet._with_rows(m.Task.objects.order_by("id")).values(*ROW_COLUMNS))


@pytest.mark.parametrize("caller", CALLERS)
def test_the_scope_over_every_task_row_is_the_callers_scope(province: Province, caller):
    user = province.users[caller]
    expected = set(scope.tasks_visible(user).values_list("id", flat=True))
    within = {row["id"] for row in scope.tasks_visible(user, within=every_task_row())}
    assert within == expected != set()
