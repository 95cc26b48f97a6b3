"""tracker.prepared: a `values()` queryset read through a statement PostgreSQL prepares gives exactly the rows
the ORM reads, logged as any query; the task list's page is read that way (docs/benchmarks.md)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Window
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from api.task_rows import ROW_COLUMNS, with_row_columns
from tests.conftest import Province
from tracker import models as m
from tracker.prepared import read_prepared

pytestmark = pytest.mark.django_db


def page_of(queryset):
    return queryset.annotate(_counted=Window(Count("*"))).order_by("due_at", "id")[:50]


@pytest.mark.sqlite
def test_prepared_rows_are_the_rows_the_orm_reads(province: Province):
    # given: rows with timestamps, decimals, JSON, NULLs, a subquery and a window
    school_tasks = m.Task.objects.filter(school_id=province.approved_task.school_id)
    rows = page_of(with_row_columns(school_tasks).values(*ROW_COLUMNS))
    # when
    with CaptureQueriesContext(connection) as captured:
        read = read_prepared(rows)
    # then
    assert read == list(rows)
    assert repr(read) == repr(list(rows))  # the same types, the timestamps' time zone objects too
    approved = next(row for row in read if row["id"] == province.approved_task.pk)
    assert approved["reviewed_at"] == province.approved_task.reviewed_at
    assert approved["score"] == province.approved_task.score
    assert approved["deductions"] == province.approved_task.deductions != []
    assert approved["_counted"] == school_tasks.count()
    assert len(read) == min(school_tasks.count(), 50)
    assert len(captured) == 1  # logged, so the query budgets of the API count it


@pytest.mark.sqlite
def test_a_queryset_of_instances_is_read_as_usual(province: Province):
    tasks = page_of(m.Task.objects.all())
    read = read_prepared(tasks)
    assert [task.pk for task in read] == [task.pk for task in tasks] != []
    assert all(isinstance(task, m.Task) for task in read)


def test_the_task_lists_page_is_prepared_once_per_connection(province: Province):
    # given
    assert connection.vendor == "postgresql"
    _, token = AuthToken.objects.create(province.users["supervisor@district"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    url = f"/api/v1/tasks/?cycle={province.cycle.pk}&page_size=50"
    # when: the same page twice on one connection
    first, second = client.get(url), client.get(url)
    # then: the same answer, and the page's statement prepared on the server, executed twice
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.json()["count"] > 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ['SELECT "tracker_task"."id" AS "id", "tracker_task"."kind"%COUNT(*) OVER ()%'],
        )
        assert cursor.fetchall() == [(2,)]
