import pytest

from tracker import models as m

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_school_sees_only_its_own_tasks(district, client_for):
    response = client_for(district.school_a_user).get("/api/v1/tasks/")
    assert response.status_code == 200
    ids = {row["school"]["id"] for row in response.json()["results"]}
    assert ids == {district.school_a.pk}


def test_activate_twice_creates_nothing_the_second_time(district, client_for):
    response = client_for(district.supervisor).post(f"/api/v1/cycles/{district.cycle.pk}/activate/")
    assert response.status_code == 200
    assert response.json() == {"tasks_created": 0}
    assert m.Task.objects.filter(cycle=district.cycle).count() == 2
