"""tracker.assessment.task_record reads in one statement exactly what its five querysets read one by one
(tracker.sql.read_together): the same rows, values, order and related objects, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import Province
from tracker.assessment.ledger import deduction_ledger
from tracker.assessment.task_record import task_record
from tracker.audit.selectors import task_history
from tracker.models import Evidence, Task
from tracker.sql import read_together

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def fields_of(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def same_rows(together: list, alone: list, related: tuple[str, ...] = ()) -> None:
    assert [fields_of(obj) for obj in together] == [fields_of(obj) for obj in alone]
    assert [type(obj) for obj in together] == [type(obj) for obj in alone]
    for name in related:
        for a, b in zip(together, alone, strict=True):
            mine, theirs = getattr(a, name), getattr(b, name)
            assert (mine and fields_of(mine)) == (theirs and fields_of(theirs))


@pytest.mark.parametrize("which", ["open_task", "approved_task"])
def test_a_tasks_record_is_what_its_five_lists_read_one_by_one(province: Province, which):
    # given: one task in progress (evidence, an extension request), one approved and appealed (the ledger)
    task: Task = getattr(province, which)
    alone = {
        "ledger": list(deduction_ledger(task)),
        "evidence": list(Evidence.objects.filter(task=task).order_by("uploaded_at", "id")),
        "history": list(task_history(task)),
        "requests": list(task.extension_requests.select_related("decided_by").order_by("created_at", "id")),
        "appeals": list(task.appeals.select_related("decided_by").order_by("created_at", "id")),
    }
    assert alone["evidence"] and alone["history"] and (alone["requests"] or alone["appeals"])
    if which == "approved_task":
        assert alone["ledger"] and alone["appeals"]
    # when
    with CaptureQueriesContext(connection) as queries:
        record = task_record(task)
        # then: one statement, and reading the related objects asks nothing more
        same_rows(record.ledger, alone["ledger"], ("actor",))
        same_rows(record.evidence, alone["evidence"])
        same_rows(record.history, alone["history"], ("actor",))
        same_rows(record.requests, alone["requests"], ("decided_by",))
        same_rows(record.appeals, alone["appeals"], ("decided_by",))
    assert len(queries) == 1


def test_rows_come_back_in_each_querysets_order_whatever_the_union_returns(province: Province):
    tasks = Task.objects.filter(school=province.school).order_by("due_at", "id")
    evidence = Evidence.objects.filter(task__school=province.school).order_by("uploaded_at", "id")
    together = read_together([tasks, evidence])
    assert [t.pk for t in together[0]] == [t.pk for t in tasks]
    assert [e.pk for e in together[1]] == [e.pk for e in evidence]
    assert len(together[0]) > 50 and len(together[1]) == 2


def test_a_queryset_without_an_ascending_order_is_refused(province: Province):
    with pytest.raises(ValueError, match="order_by"):
        read_together([Task.objects.filter(school=province.school)])
    with pytest.raises(ValueError, match="order_by"):
        read_together([Task.objects.order_by("-id")])
