"""The task list counts in its page's own statement (api/pagination.py): its pages, links, count and
refusals read exactly as those of a list paged by DRF's own paginator (the units')."""

from __future__ import annotations

import pytest

from tests.conftest import Province
from tracker import scope
from tracker.models import Task

# COUNT(*) OVER () on the demo's SQLite too.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def supervisor(province: Province):
    return province.users["supervisor@district"]


def test_pages_count_the_whole_list_and_link_to_their_neighbours(province: Province, supervisor, client_for):
    # given: the district's tasks of the province's cycle, more than two pages of 40
    seen = scope.tasks_visible(supervisor).filter(cycle=province.cycle)
    total = seen.count()
    assert 80 < total <= 120
    ids = list(seen.order_by("due_at", "id").values_list("id", flat=True))
    client = client_for(supervisor)
    query = {"cycle": province.cycle.pk, "page_size": 40}
    # when
    first, second, last = (client.get("/api/v1/tasks/", {**query, "page": page}).json() for page in (1, 2, "last"))
    # then
    assert [first["count"], second["count"], last["count"]] == [total] * 3
    assert [row["id"] for row in first["results"] + second["results"] + last["results"]] == ids
    assert first["previous"] is None and first["next"].endswith(f"?cycle={province.cycle.pk}&page=2&page_size=40")
    assert second["previous"].endswith("page_size=40") and second["next"].endswith("page=3&page_size=40")
    assert last["next"] is None and last["previous"].endswith("page=2&page_size=40")


def test_a_page_short_of_its_size_counts_its_own_rows(province: Province, client_for):
    response = client_for(province.users["school"]).get("/api/v1/tasks/", {"page_size": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["results"]) == Task.objects.filter(school=province.school).count()
    assert body["next"] is None and body["previous"] is None


def test_an_empty_list_is_one_empty_page(province: Province, supervisor, client_for):
    empty = client_for(supervisor).get("/api/v1/tasks/", {"status": "returned"})
    assert empty.status_code == 200
    assert empty.json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize("page", ["4", "999", "0", "-1", "abc", "1.5", ""])
def test_a_page_past_the_end_or_not_a_page_reads_as_on_every_list(province: Province, supervisor, client_for, page):
    # given: the units (DRF's own paginator: three pages of 1) and the tasks (three pages of 40)
    client = client_for(supervisor)
    units = client.get("/api/v1/units/", {"page_size": 1, "page": page})
    tasks = client.get("/api/v1/tasks/", {"cycle": province.cycle.pk, "page_size": 40, "page": page})
    # then: the same answer (for "", the first page of each)
    assert tasks.status_code == units.status_code
    if page:
        assert tasks.status_code == 404
        assert tasks.json() == units.json()
    else:
        assert tasks.json()["previous"] is None and len(tasks.json()["results"]) == 40


# --- The cycle filter's scope, judged by the page's own statement (api/filters.KeyInStatementFilter) -------------
@pytest.mark.parametrize("page", [{}, {"page": 2}, {"page": "last"}, {"page_size": 1, "page": 3}])
def test_a_cycle_outside_the_scope_is_refused_as_one_that_does_not_exist(district, client_for, page):
    client = client_for(district.supervisor)
    outside = client.get("/api/v1/tasks/", {"cycle": district.other_cycle.pk, **page})
    missing = client.get("/api/v1/tasks/", {"cycle": 999_999, **page})
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json() and list(outside.json()["errors"]) == ["cycle"]


def test_a_cycle_outside_the_scope_is_refused_beside_the_other_bad_filters(district, client_for):
    client = client_for(district.school_a_user)
    outside = client.get("/api/v1/tasks/", {"cycle": district.other_cycle.pk, "status": "bogus", "school": 999_999})
    missing = client.get("/api/v1/tasks/", {"cycle": 999_999, "status": "bogus", "school": 999_999})
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json()
    assert set(outside.json()["errors"]) == {"cycle", "status", "school"}


def test_a_cycle_in_scope_with_no_rows_is_an_empty_page(district, client_for):
    client = client_for(district.supervisor)
    response = client.get("/api/v1/tasks/", {"cycle": district.cycle.pk, "kind": "rectification"})
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
    past = client.get("/api/v1/tasks/", {"cycle": district.cycle.pk, "kind": "rectification", "page": 2})
    assert past.status_code == 404


def test_a_school_sees_its_districts_cycle_and_only_its_own_tasks_in_it(district, client_for):
    response = client_for(district.school_a_user).get("/api/v1/tasks/", {"cycle": district.cycle.pk})
    assert response.status_code == 200
    assert {row["school"]["id"] for row in response.json()["results"]} == {district.school_a.pk}
    assert response.json()["count"] == 1
