"""A task, and a page of tasks, cost a fixed number of queries over the API, whoever asks and wherever
they sit in the tree (issue 14): counted with the real token authentication, as a client sends it."""

from __future__ import annotations

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import CALLERS, Province

# A task: the token with its user, the task with its criterion, school and evidence count, then the
# caller's memberships marked where they reach (none for a superuser). Issue 14's bar is 5.
DETAIL_QUERIES = 3
# A page: the token, the memberships, and the page counted in its own statement, which also checks the cycle
# filter's scope (api/filters.KeyInStatementFilter).
LIST_QUERIES = 3


def token_client(user) -> APIClient:
    _, token = AuthToken.objects.create(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("which", ["open_task", "approved_task"])
def test_a_task_costs_the_same_few_queries_for_every_caller(
    province: Province, caller, which, django_assert_max_num_queries
):
    # given
    task = getattr(province, which)
    client = token_client(province.users[caller])
    # when
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(f"/api/v1/tasks/{task.pk}/")
    # then
    assert response.status_code == 200, response.content
    assert response.json()["id"] == task.pk
    assert response.json()["evidence_count"] == 1


def test_a_task_outside_the_scope_is_404_within_the_same_budget(province: Province, django_assert_max_num_queries):
    client = token_client(province.users["supervisor@district"])
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(f"/api/v1/tasks/{province.other_task.pk}/")
    assert response.status_code == 404


@pytest.mark.parametrize("caller", CALLERS)
def test_a_page_of_tasks_costs_the_same_queries_whatever_its_size(
    province: Province, caller, django_assert_max_num_queries
):
    client = token_client(province.users[caller])
    counted = {}
    for size in (5, 50):
        with django_assert_max_num_queries(LIST_QUERIES) as captured:
            response = client.get(f"/api/v1/tasks/?cycle={province.cycle.pk}&page_size={size}")
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == size
        counted[size] = len(captured)
    assert counted[5] == counted[50]
