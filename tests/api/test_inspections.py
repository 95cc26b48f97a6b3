"""Inspection rounds and their statistics over HTTP (CONTRACT section 9): who reads, who writes, shapes."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import MembershipFactory, UnitFactory
from tracker import models as m
from tracker.inspections.inspection_services import TargetInput, inspection_create

pytestmark = pytest.mark.django_db

ROUND = {
    "kind": "unannounced",
    "held_on": "2026-02-21",
    "inspectors": 3,
    "targets": [{"kind": "neighbourhood", "name": "东港花园小区"}, {"kind": "tutoring_centre", "name": "启航培训"}],
    "summary": "暗访",
}


def test_an_inspector_or_a_supervisor_records_a_round(district, client_for):
    for user in (district.inspector, district.supervisor):
        body = {**ROUND, "authority": district.bureau.pk}
        body["targets"] = [*ROUND["targets"], {"kind": "school", "school": district.school_a.pk}]
        response = client_for(user).post("/api/v1/inspections/", body, format="json")
        assert response.status_code == 201, response.content
        data = response.json()
        assert set(data) >= {"id", "authority", "kind", "held_on", "inspectors", "targets", "summary"}
        assert data["targets"] == [
            {"kind": "neighbourhood", "name": "东港花园小区", "school": None},
            {"kind": "tutoring_centre", "name": "启航培训", "school": None},
            {"kind": "school", "name": district.school_a.name, "school": district.school_a.pk},
        ]
        assert (data["authority"], data["kind"], data["held_on"], data["inspectors"]) == (
            district.bureau.pk,
            "unannounced",
            "2026-02-21",
            3,
        )
    assert m.Event.objects.filter(type="inspection.created").count() == 2


def test_a_school_may_not_record_or_read_rounds(district, casework, client_for):
    client = client_for(district.school_a_user)
    response = client.post("/api/v1/inspections/", {**ROUND, "authority": district.bureau.pk}, format="json")
    assert response.status_code == 403
    assert client.get("/api/v1/inspections/").status_code == 403
    assert client.get("/api/v1/inspections/stats/").status_code == 403
    # A round that visited the school itself is still none of its business: 404, like a missing one.
    assert client.get(f"/api/v1/inspections/{casework.inspection.pk}/").status_code == 404
    assert (
        client.patch(f"/api/v1/inspections/{casework.inspection.pk}/", {"summary": "x"}, format="json").status_code
        == 404
    )


def test_rounds_of_another_district_are_out_of_scope(district, casework, client_for):
    client = client_for(district.other_supervisor)
    assert client.get(f"/api/v1/inspections/{casework.inspection.pk}/").status_code == 404
    patched = client.patch(f"/api/v1/inspections/{casework.inspection.pk}/", {"summary": "x"}, format="json")
    assert patched.status_code == 404
    assert client.get("/api/v1/inspections/").json()["count"] == 0
    refused = client.post("/api/v1/inspections/", {**ROUND, "authority": district.bureau.pk}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"authority"}


def test_the_authoritys_staff_read_and_filter_rounds(district, casework, client_for):
    older = inspection_create(
        actor=None,
        authority=district.bureau,
        kind="announced",
        held_on=date(2025, 11, 2),
        inspectors=2,
        targets=[TargetInput(kind="other", name="x")],
    )
    for user in (district.supervisor, district.inspector):
        client = client_for(user)
        rows = client.get("/api/v1/inspections/").json()["results"]
        assert [r["id"] for r in rows] == [casework.inspection.pk, older.pk]  # newest first
        assert [r["id"] for r in client.get("/api/v1/inspections/", {"year": 2025}).json()["results"]] == [older.pk]
        assert [r["id"] for r in client.get("/api/v1/inspections/", {"kind": "unannounced"}).json()["results"]] == [
            casework.inspection.pk
        ]
        assert client.get(f"/api/v1/inspections/{older.pk}/").json()["inspectors"] == 2


def test_patching_a_round_replaces_its_targets(district, casework, client_for):
    url = f"/api/v1/inspections/{casework.inspection.pk}/"
    response = client_for(district.supervisor).patch(
        url, {"inspectors": 5, "targets": [{"kind": "other", "name": "夜市"}]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["inspectors"] == 5
    assert response.json()["targets"] == [{"kind": "other", "name": "夜市", "school": None}]
    refused = client_for(district.inspector).patch(url, {"authority": district.other_bureau.pk}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"authority"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"inspectors": 0}, "inspectors"),
        ({"targets": []}, "targets"),
        ({"targets": [{"kind": "school"}]}, "targets"),
        ({"targets": [{"kind": "neighbourhood"}]}, "targets"),
        ({"kind": "secret"}, "kind"),
        ({"held_on": "2099-01-01"}, "held_on"),
    ],
)
def test_bad_rounds_are_400_naming_the_field(district, client_for, change, field):
    response = client_for(district.inspector).post(
        "/api/v1/inspections/", {**ROUND, "authority": district.bureau.pk, **change}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not m.Inspection.objects.exists()


def test_a_school_target_must_be_a_school_in_scope_under_the_authority(district, client_for):
    for school in (district.other_school.pk, district.bureau.pk):
        body = {**ROUND, "authority": district.bureau.pk, "targets": [{"kind": "school", "school": school}]}
        response = client_for(district.inspector).post("/api/v1/inspections/", body, format="json")
        assert response.status_code == 400
        assert "targets" in response.json()["errors"]


# --- Statistics --------------------------------------------------------------------------------------
def _seed_rounds(authority, year: int, visits: list[int]) -> None:
    for n, inspectors in enumerate(visits):
        inspection_create(
            actor=None,
            authority=authority,
            kind="announced" if n % 3 == 0 else "unannounced",
            held_on=date(year, 1 + n % 12, 1 + n),
            inspectors=inspectors,
            targets=[
                TargetInput(kind="neighbourhood", name=f"小区{n}"),
                TargetInput(kind="tutoring_centre", name="机构"),
            ],
        )


def test_the_seeds_thirteen_rounds_make_forty_four_person_visits(district, client_for):
    visits = [4, 3, 3, 4, 3, 3, 4, 3, 3, 4, 3, 3, 4]  # 13 rounds, 44 people
    _seed_rounds(district.bureau, 2020, visits)
    _seed_rounds(district.other_bureau, 2020, [9, 9])  # next door: not counted

    with CaptureQueriesContext(connection) as queries:
        response = client_for(district.inspector).get("/api/v1/inspections/stats/", {"year": 2020})

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "authority": district.bureau.pk,
        "year": 2020,
        "rounds": 13,
        "person_visits": 44,
        "rounds_by_kind": {"announced": 5, "unannounced": 8},
        "targets_by_kind": {"school": 0, "neighbourhood": 13, "tutoring_centre": 13, "other": 0},
        "cases": 0,
        "cases_by_type": {"paid_tutoring": 0, "banquet": 0, "second_job": 0, "private_gain": 0, "other": 0},
    }
    # Counted by the database: a year of one round costs as many queries as a year of thirteen.
    _seed_rounds(district.bureau, 2019, [1])
    with CaptureQueriesContext(connection) as one_round:
        assert client_for(district.inspector).get("/api/v1/inspections/stats/", {"year": 2019}).json()["rounds"] == 1
    assert len(queries) == len(one_round)


def test_statistics_default_to_the_callers_authority_and_this_year(district, casework, client_for):
    this_year = timezone.localdate().year
    _seed_rounds(district.bureau, this_year, [2, 5])
    body = client_for(district.supervisor).get("/api/v1/inspections/stats/").json()
    assert (body["authority"], body["year"], body["rounds"], body["person_visits"]) == (
        district.bureau.pk,
        this_year,
        2 + (casework.inspection.held_on.year == this_year),
        7 + 4 * (casework.inspection.held_on.year == this_year),
    )


def test_statistics_of_a_city_roll_up_its_districts(district, client_for):
    city = UnitFactory(name="City", code="CITY")
    m.Unit.objects.filter(pk__in=[district.bureau.pk, district.other_bureau.pk]).update(parent=city)
    city_inspector = MembershipFactory(unit=city, role=m.Role.INSPECTOR).user
    _seed_rounds(district.bureau, 2021, [3, 3])
    _seed_rounds(district.other_bureau, 2021, [5])

    client = client_for(city_inspector)
    assert client.get("/api/v1/inspections/stats/", {"year": 2021}).json()["person_visits"] == 11
    one = client.get("/api/v1/inspections/stats/", {"year": 2021, "authority": district.other_bureau.pk}).json()
    assert (one["rounds"], one["person_visits"]) == (1, 5)


def test_statistics_of_an_authority_out_of_scope_are_404_and_bad_queries_400(district, client_for):
    client = client_for(district.supervisor)
    assert client.get("/api/v1/inspections/stats/", {"authority": district.other_bureau.pk}).status_code == 404
    assert client.get("/api/v1/inspections/stats/", {"authority": district.school_a.pk}).status_code == 404
    assert client.get("/api/v1/inspections/stats/", {"authority": 999_999_999}).status_code == 404
    for query in ({"year": "1999"}, {"year": "abc"}, {"authority": "x"}, {"year": 10**30}):
        response = client.get("/api/v1/inspections/stats/", query)
        assert response.status_code == 400, query
        assert set(response.json()["errors"]) == set(query)


def test_a_superuser_names_the_authority_of_the_statistics(district, superuser, client_for):
    client = client_for(superuser)
    response = client.get("/api/v1/inspections/stats/")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"authority"}
    assert client.get("/api/v1/inspections/stats/", {"authority": district.bureau.pk}).status_code == 200
