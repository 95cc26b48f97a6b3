"""The task page and the task list cost a fixed number of queries, whoever asks and wherever they sit in
the tree (issue 14): counted with the real session login, as a browser sends it."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import CALLERS, Province

# The session and its user; the task with its criterion, school, cycle and campaign, and the header's unread
# count; the caller's memberships marked where they reach (none for a superuser); then what the page shows,
# in one statement (tracker.assessment.task_record): the deduction ledger, the evidence, the history, the
# extension requests, the appeals. Issue 14's bar: 5.
PAGE_QUERIES = 5
# The session and its user, the memberships, the cycles, the page counted in its own statement, the open
# rectifications and the header's unread count.
LIST_QUERIES = 7


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("which", ["open_task", "approved_task"])
def test_the_task_page_costs_the_same_queries_for_every_caller(
    province: Province, caller, which, django_assert_max_num_queries
):
    # given
    task = getattr(province, which)
    client = logged_in(province.users[caller])
    # when
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(f"/tasks/{task.pk}/")
    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert "report.pdf" in page  # the evidence
    assert "the gap was closed" in page or "the inspectors came" in page  # the appeal or the request


def test_a_task_page_outside_the_scope_is_404_within_the_same_budget(province: Province, django_assert_max_num_queries):
    client = logged_in(province.users["school"])
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(f"/tasks/{province.other_task.pk}/")
    assert response.status_code == 404


@pytest.mark.parametrize("caller", CALLERS)
def test_the_task_list_costs_the_same_queries_on_every_page(province: Province, caller, django_assert_max_num_queries):
    client = logged_in(province.users[caller])
    counted, rows = {}, {}
    for page in (1, 2):
        with django_assert_max_num_queries(LIST_QUERIES) as captured:
            response = client.get(f"/tasks/?cycle={province.cycle.pk}&page={page}")
        assert response.status_code == 200
        assert response.context["page"].number == page
        counted[page], rows[page] = len(captured), len(response.context["rows"])
    assert rows[1] == 50
    assert rows[2] >= 5  # the school's 55 tasks: 50, then 5 (the others see more)
    assert counted[1] == counted[2]
