"""What the first real users missed: the task detail carries the criterion's requirement and deduction
rules; lists take ?ordering= by every field they document (the review queue by submitted_at) and answer
400 naming `ordering` for any other, on every list of the schema."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import EvidenceFactory
from tests.security.openapi import operations
from tracker import models as m
from tracker.assessment.task_services import task_submit

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_the_task_detail_carries_the_requirement_and_the_deduction_rules(district, task_a, client_for):
    for user in (district.school_a_user, district.supervisor, district.inspector):
        body = client_for(user).get(f"/api/v1/tasks/{task_a.pk}/").json()
        assert body["requirement"] == "Do the thing."
        assert body["deduction_rules"] == [
            {"code": "D1", "description": "incomplete", "points": "2.00"},
            {"code": "D2", "description": "late minutes", "points": "3.50"},
        ]
        assert body["max_score"] == "10.00"
        assert body["min_evidence"] == 1
    # The answer to an action is the same detail.
    started = client_for(district.school_a_user).post(f"/api/v1/tasks/{task_a.pk}/start/", {}, format="json")
    assert started.json()["deduction_rules"][0]["code"] == "D1"


def test_the_review_queue_orders_by_submission_time(district, client_for):
    tasks = list(m.Task.objects.filter(cycle=district.cycle).order_by("id"))
    when = datetime(2026, 3, 1, tzinfo=UTC)
    for offset, task in zip([2, 0, 1], tasks, strict=False):
        EvidenceFactory(task=task)
        user = district.school_a_user if task.school_id == district.school_a.pk else district.school_b_user
        task_submit(task=task, actor=user, now=when + timedelta(hours=offset))
    client = client_for(district.supervisor)
    params = {"cycle": district.cycle.pk, "status": "submitted"}

    oldest_first = client.get("/api/v1/tasks/", {**params, "ordering": "submitted_at"}).json()["results"]
    newest_first = client.get("/api/v1/tasks/", {**params, "ordering": "-submitted_at"}).json()["results"]

    times = [row["submitted_at"] for row in oldest_first]
    assert len(times) == 2 and times == sorted(times)
    assert [row["id"] for row in newest_first] == [row["id"] for row in reversed(oldest_first)]


def list_operations():
    ops = [op for op in operations() if op.method == "get" and any(p["name"] == "ordering" for p in op.query_params())]
    assert len(ops) >= 8
    return ops


def ordering_fields(op) -> list[str]:
    param = next(p for p in op.query_params() if p["name"] == "ordering")
    return re.findall(r"[a-z_]+", param["description"].split(":", 1)[1])


@pytest.mark.parametrize("op", list_operations(), ids=lambda op: op.path)
def test_every_list_refuses_an_unknown_ordering_and_takes_every_documented_one(op, district, client_for, superuser):
    client = client_for(superuser)
    for bad in ("no_such_field", "due_at,secret", "-", "password", "school__name"):
        response = client.get(op.url(), {"ordering": bad})
        assert response.status_code == 400, (bad, response.status_code)
        assert list(response.json()["errors"]) == ["ordering"]
    fields = ordering_fields(op)
    assert fields
    pattern = re.compile(next(p for p in op.query_params() if p["name"] == "ordering")["schema"]["pattern"])
    for field in fields:
        for term in (field, f"-{field}"):
            assert pattern.match(term)
            assert client.get(op.url(), {"ordering": term}).status_code == 200, term
