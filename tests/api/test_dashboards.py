"""Dashboard endpoints: numbers, shapes, access (403/404/400) and a query count independent of size."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from api import dashboards as views
from tests.factories import CriterionFactory, CycleFactory, MembershipFactory, SchoolFactory, UnitFactory
from tests.tracker.reporting.test_dashboards import EXPECTED, NOW, Province, build_province
from tracker import models as m
from tracker.assessment.cycle_services import cycle_activate
from tracker.reporting.snapshots import snapshots_take

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

OVERVIEW = "/api/v1/dashboards/overview/"
CRITERIA = "/api/v1/dashboards/criteria/"
TREND = "/api/v1/dashboards/trend/"
OVERSIGHT_URL = "/api/v1/dashboards/oversight/"
EXPORT_URLS = ["/api/v1/exports/overview.csv", "/api/v1/exports/criteria.xlsx"]


@pytest.fixture
def province(db) -> Province:
    return build_province()


def school_url(school: m.Unit) -> str:
    return f"/api/v1/dashboards/schools/{school.pk}/"


def get(client_for, user, url, **params):
    return client_for(user).get(url, params)


# --- Numbers and shapes ---------------------------------------------------------------------------------
@freeze_time(NOW)
def test_overview_returns_the_hand_computed_rows_to_a_province_supervisor(province, client_for):
    response = get(client_for, province.province_supervisor, OVERVIEW, cycle=province.cycle.pk)

    assert response.status_code == 200
    body = response.json()
    assert body["cycle"] == province.cycle.pk
    assert body["totals"]["schools"] == 5
    assert body["totals"]["on_time_rate"] == 6 / 8
    assert [row["school"]["name"] for row in body["schools"]] == list(EXPECTED)
    for row in body["schools"]:
        expected = EXPECTED[row.pop("school")["name"]]
        assert row == expected
    # Times are rendered in the local zone (Asia/Shanghai), like every other endpoint.
    assert body["schools"][2]["last_activity_at"] == "2026-03-25T08:00:00+08:00"


@freeze_time(NOW)
def test_inspector_sees_the_same_overview_as_the_supervisor(province, client_for):
    as_supervisor = get(client_for, province.province_supervisor, OVERVIEW, cycle=province.cycle.pk).json()
    as_inspector = get(client_for, province.province_inspector, OVERVIEW, cycle=province.cycle.pk).json()

    assert as_inspector["schools"] == as_supervisor["schools"]
    assert as_inspector["totals"] == as_supervisor["totals"]


@freeze_time(NOW)
def test_overview_with_unit_rolls_up_per_child_and_drills_down(province, client_for):
    client = client_for(province.province_supervisor)

    cities = client.get(OVERVIEW, {"cycle": province.cycle.pk, "unit": province.province.pk}).json()
    districts = client.get(OVERVIEW, {"cycle": province.cycle.pk, "unit": province.city1.pk}).json()
    schools = client.get(OVERVIEW, {"cycle": province.cycle.pk, "unit": province.d11.pk}).json()

    assert cities["unit"] == {"id": province.province.pk, "name": "Zhejiang Province", "kind": "authority"}
    assert [(r["unit"]["name"], r["schools"], r["score"], r["rank"]) for r in cities["units"]] == [
        ("Zhoushan City", 3, 15.33, 1),
        ("Ningbo City", 2, 11.5, 2),
    ]
    assert [(r["unit"]["name"], r["tasks"], r["flag"]) for r in districts["units"]] == [
        ("Dinghai District", 3, "critical"),
        ("Putuo District", 6, "warning"),
        ("Xinqu District", 0, None),
    ]
    assert [(r["unit"]["kind"], r["unit"]["name"][:2], r["score"]) for r in schools["units"]] == [
        ("school", "S1", 23.0),
        ("school", "S2", 0.0),
    ]
    assert districts["totals"]["schools"] == 3


@freeze_time(NOW)
def test_responses_have_the_documented_keys(province, client_for):
    client = client_for(province.province_supervisor)
    flat = client.get(OVERVIEW, {"cycle": province.cycle.pk}).json()
    rolled = client.get(OVERVIEW, {"cycle": province.cycle.pk, "unit": province.province.pk}).json()
    criteria = client.get(CRITERIA, {"cycle": province.cycle.pk}).json()
    school = client.get(school_url(province.s2), {"cycle": province.cycle.pk}).json()

    assert set(flat) == {"cycle", "generated_at", "totals", "schools"}
    assert set(rolled) == {"cycle", "generated_at", "unit", "totals", "units"}
    assert set(flat["totals"]) == set(views.DashboardTotalsSerializer().fields)
    assert set(flat["schools"][0]) == set(views.DashboardSchoolRowSerializer().fields)
    assert set(rolled["units"][0]) == set(views.DashboardRollupRowSerializer().fields)
    assert set(criteria) == set(views.DashboardCriteriaSerializer().fields)
    assert set(criteria["criteria"][0]) == set(views.DashboardCriterionRowSerializer().fields)
    assert set(school) == set(views.DashboardSchoolSerializer().fields)
    snapshots_take(now=NOW)
    trend = client.get(TREND, {"cycle": province.cycle.pk, "since": "2026-03-01"}).json()
    rolled_trend = client.get(TREND, {"cycle": province.cycle.pk, "unit": province.province.pk, "since": "2026-03-01"})
    assert set(trend) == set(views.DashboardTrendSerializer().fields)
    assert set(trend["series"][0]) == {"school", "points"}
    assert set(rolled_trend.json()["series"][0]) == {"unit", "points"}
    assert set(trend["series"][0]["points"][0]) == set(views.DashboardTrendPointSerializer().fields) - {"schools"}
    for serializer, data in [
        (views.DashboardTrendSerializer, trend),
        (views.DashboardTrendSerializer, rolled_trend.json()),
        (views.DashboardOverviewSerializer, flat),
        (views.DashboardOverviewSerializer, rolled),
        (views.DashboardCriteriaSerializer, criteria),
        (views.DashboardSchoolSerializer, school),
    ]:
        checked = serializer(data=data)
        assert checked.is_valid(), checked.errors


@freeze_time(NOW)
def test_criteria_endpoint_numbers(province, client_for):
    body = get(client_for, province.province_supervisor, CRITERIA, cycle=province.cycle.pk).json()

    k2 = body["criteria"][1]
    assert k2["criterion"]["code"] == "K2"
    assert (k2["tasks"], k2["approved"], k2["overdue"], k2["on_time_rate"], k2["average_score"]) == (
        5,
        3,
        1,
        0.5,
        13.67,
    )


@freeze_time(datetime(2026, 6, 20, tzinfo=UTC))
def test_school_view_for_the_school_itself_and_its_supervisors(province, client_for):
    s1_user = province.s1_user
    own = get(client_for, s1_user, school_url(province.s1), cycle=province.cycle.pk)
    by_supervisor = get(client_for, province.d11_supervisor, school_url(province.s2), cycle=province.cycle.pk)

    assert own.status_code == 200
    assert own.json()["school"]["id"] == province.s1.pk
    assert own.json()["score"] == 23.0
    assert by_supervisor.status_code == 200
    assert [t["criterion"]["code"] for t in by_supervisor.json()["overdue_tasks"]] == ["K2"]
    assert [t["criterion"]["code"] for t in by_supervisor.json()["due_soon"]] == ["K3"]


# --- Access ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND])
def test_a_school_account_gets_403_on_the_district_views(province, client_for, url):
    response = get(client_for, province.s1_user, url, cycle=province.cycle.pk)

    assert response.status_code == 403


def test_a_school_account_gets_404_for_another_schools_view(province, client_for):
    response = get(client_for, province.s1_user, school_url(province.s2), cycle=province.cycle.pk)

    assert response.status_code == 404


def test_school_view_of_a_unit_that_is_not_a_school_or_not_in_the_cycle_is_404(province, client_for):
    client = client_for(province.province_supervisor)

    assert client.get(school_url(province.city1), {"cycle": province.cycle.pk}).status_code == 404
    assert client.get(school_url(province.outside_school), {"cycle": province.cycle.pk}).status_code == 404
    assert client.get("/api/v1/dashboards/schools/99999999999999999999/", {"cycle": 1}).status_code == 404


def test_school_view_needs_a_cycle(province, client_for):
    response = get(client_for, province.s1_user, school_url(province.s1))

    assert response.status_code == 400
    assert "cycle" in response.json()["errors"]


@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND])
@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5", str(2**70)])
def test_an_invalid_cycle_is_a_400_naming_it(province, client_for, url, value):
    response = get(client_for, province.province_supervisor, url, cycle=value)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["cycle"]


@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND, OVERSIGHT_URL, *EXPORT_URLS])
def test_without_a_cycle_the_latest_active_cycle_in_scope_is_shown(province, client_for, url):
    """The first real user's friction: every district view needed ?cycle=. Now it defaults to the latest
    active cycle the caller may read: not a newer one elsewhere, nor a newer draft or closed one."""
    later = CycleFactory(authority=province.outside, name="elsewhere, newer")
    cycle_activate(actor=province.outside_supervisor, cycle=later, now=datetime(2026, 3, 1, tzinfo=UTC))
    CycleFactory(authority=province.province, name="a draft, newer", starts_on=date(2026, 6, 1))
    client = client_for(province.city1_supervisor)

    default = client.get(url)
    explicit = client.get(url, {"cycle": province.cycle.pk})

    assert default.status_code == explicit.status_code == 200, default.content[:300]
    if url.endswith((".csv", ".xlsx")):
        assert default["Content-Disposition"] == explicit["Content-Disposition"]
    else:
        assert default.json()["cycle"] == province.cycle.pk


@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND, OVERSIGHT_URL])
def test_without_a_cycle_and_no_active_one_in_scope_it_is_a_400_naming_it(province, client_for, url):
    m.Cycle.objects.filter(pk=province.cycle.pk).update(status=m.CycleStatus.CLOSED)

    response = client_for(province.city1_supervisor).get(url)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["cycle"]


@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND])
def test_a_cycle_out_of_scope_is_404(province, client_for, url):
    response = get(client_for, province.province_supervisor, url, cycle=province.outside_cycle.pk)
    missing = get(client_for, province.province_supervisor, url, cycle=10**9)

    assert response.status_code == 404
    assert missing.status_code == 404


@freeze_time(NOW)
def test_a_district_supervisor_sees_only_their_district_of_a_province_cycle(province, client_for):
    body = get(client_for, province.d11_supervisor, OVERVIEW, cycle=province.cycle.pk).json()
    criteria = get(client_for, province.d11_supervisor, CRITERIA, cycle=province.cycle.pk).json()

    assert {row["school"]["id"] for row in body["schools"]} == {province.s1.pk, province.s2.pk}
    assert body["totals"]["tasks"] == 6
    assert criteria["criteria"][0]["tasks"] == 2


@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND])
def test_a_unit_outside_the_callers_scope_is_404(province, client_for, url):
    client = client_for(province.city1_supervisor)

    sibling_city = client.get(url, {"cycle": province.cycle.pk, "unit": province.city2.pk})
    sibling_district = client.get(url, {"cycle": province.cycle.pk, "unit": province.d21.pk})
    above = client.get(url, {"cycle": province.cycle.pk, "unit": province.province.pk})
    other_province = client.get(url, {"cycle": province.cycle.pk, "unit": province.outside.pk})

    assert [r.status_code for r in (sibling_city, sibling_district, above, other_province)] == [404] * 4


@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND])
def test_a_bad_unit_is_a_400_naming_it(province, client_for, url):
    client = client_for(province.province_supervisor)

    school = client.get(url, {"cycle": province.cycle.pk, "unit": province.s1.pk})
    garbage = client.get(url, {"cycle": province.cycle.pk, "unit": "x"})

    assert (school.status_code, list(school.json()["errors"])) == (400, ["unit"])
    assert (garbage.status_code, list(garbage.json()["errors"])) == (400, ["unit"])


def test_a_unit_above_the_cycles_authority_is_a_400(province, client_for):
    city_cycle = CycleFactory(authority=province.city1)
    CriterionFactory(cycle=city_cycle)
    cycle_activate(actor=province.city1_supervisor, cycle=city_cycle, now=NOW)

    response = get(client_for, province.province_supervisor, OVERVIEW, cycle=city_cycle.pk, unit=province.province.pk)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["unit"]


@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND])
def test_a_supervisor_of_one_district_sees_nothing_of_a_sibling_district(district, client_for, url):
    client = client_for(district.other_supervisor)

    their_cycle = client.get(url, {"cycle": district.cycle.pk})
    their_unit = client.get(url, {"cycle": district.other_cycle.pk, "unit": district.bureau.pk})
    own = client.get(OVERVIEW, {"cycle": district.other_cycle.pk}).json()

    assert their_cycle.status_code == 404
    assert their_unit.status_code == 404
    assert {row["school"]["id"] for row in own["schools"]} == {district.other_school.pk}


def test_a_sibling_district_supervisor_gets_404_for_a_school_view(district, client_for):
    response = get(client_for, district.other_supervisor, school_url(district.school_a), cycle=district.cycle.pk)

    assert response.status_code == 404


def test_a_supervisor_elsewhere_who_is_also_a_school_account_here_gets_403(province, client_for):
    # Visible through the school membership, but no supervisor/inspector role over this cycle.
    MembershipFactory(user=province.outside_supervisor, unit=province.s1, role=m.Role.SCHOOL)

    response = get(client_for, province.outside_supervisor, OVERVIEW, cycle=province.cycle.pk)

    assert response.status_code == 403


def test_anonymous_callers_are_refused(province, client_for):
    assert get(client_for, None, OVERVIEW, cycle=province.cycle.pk).status_code == 401


# --- Query count -------------------------------------------------------------------------------------------
def district_of(n_schools: int):
    bureau = UnitFactory()
    supervisor = MembershipFactory(unit=bureau).user
    for _ in range(n_schools):
        SchoolFactory(parent=bureau)
    cycle = CycleFactory(authority=bureau)
    for _ in range(3):
        CriterionFactory(cycle=cycle)
    cycle_activate(actor=supervisor, cycle=cycle, now=NOW)
    return cycle, bureau, supervisor


@pytest.mark.parametrize("rollup", [False, True])
@pytest.mark.parametrize("url", [OVERVIEW, CRITERIA, TREND])
def test_query_count_is_the_same_for_5_and_for_50_schools(db, client_for, url, rollup):
    counts = []
    for n in (5, 50):
        cycle, bureau, supervisor = district_of(n)
        snapshots_take(now=NOW)
        params = {"cycle": cycle.pk, **({"unit": bureau.pk} if rollup else {})}
        client = client_for(supervisor)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {**params, "since": "2026-03-01", "until": "2026-04-30"})
        assert response.status_code == 200, response.content
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Trend -------------------------------------------------------------------------------------------------
def test_trend_returns_daily_points_per_school_and_per_child_unit(province, client_for):
    day1 = datetime(2026, 3, 30, 15, 50, tzinfo=UTC)  # 23:50 in Shanghai
    day2 = datetime(2026, 3, 31, 15, 50, tzinfo=UTC)
    snapshots_take(now=day1)
    # S2 catches up on K2 overnight: approved, late, 12 points.
    m.Task.objects.filter(school=province.s2, criterion=province.k2).update(
        status=m.TaskStatus.APPROVED,
        score=12,
        submitted_at=datetime(2026, 3, 31, tzinfo=UTC),
        submitted_due_at=province.k2.due_at,
    )
    snapshots_take(now=day2)
    client = client_for(province.province_supervisor)

    flat = client.get(TREND, {"cycle": province.cycle.pk, "since": "2026-03-01", "until": "2026-04-30"})
    cities = client.get(
        TREND, {"cycle": province.cycle.pk, "unit": province.province.pk, "since": "2026-03-01", "until": "2026-04-30"}
    )

    assert flat.status_code == 200
    series = {s["school"]["name"][:2]: s["points"] for s in flat.json()["series"]}
    assert list(series) == ["S1", "S2", "S3", "S4", "S5"]
    assert [p["date"] for p in series["S2"]] == ["2026-03-30", "2026-03-31"]
    assert [(p["approved"], p["overdue"], p["score"], p["completion_rate"]) for p in series["S2"]] == [
        (0, 1, 0.0, 0.0),
        (1, 0, 12.0, 1 / 3),
    ]
    assert [p["on_time_rate"] for p in series["S5"]] == [None, None]
    assert cities.status_code == 200
    by_city = {s["unit"]["name"]: s["points"] for s in cities.json()["series"]}
    assert list(by_city) == ["Ningbo City", "Zhoushan City"]
    zhoushan = by_city["Zhoushan City"]
    assert [(p["schools"], p["approved"], p["overdue"], p["score"]) for p in zhoushan] == [
        (3, 4, 1, 15.33),  # (23 + 0 + 23) / 3
        (3, 5, 0, 19.33),  # (23 + 12 + 23) / 3
    ]
    assert zhoushan[1]["completion_rate"] == 5 / 9
    assert zhoushan[1]["on_time_rate"] == 4 / 6


def test_trend_window_defaults_to_the_last_90_days(province, client_for):
    with freeze_time(datetime(2026, 3, 31, 12, tzinfo=UTC)):
        snapshots_take(now=timezone.now())
        body = get(client_for, province.province_supervisor, TREND, cycle=province.cycle.pk).json()

    assert (body["since"], body["until"]) == ("2026-01-01", "2026-03-31")
    assert all(len(s["points"]) == 1 for s in body["series"])


def test_trend_refuses_since_after_until(province, client_for):
    response = get(
        client_for, province.province_supervisor, TREND, cycle=province.cycle.pk, since="2026-05-01", until="2026-04-01"
    )

    assert response.status_code == 400
    assert "since" in response.json()["errors"]


def test_a_district_supervisor_trend_holds_only_their_schools(province, client_for):
    snapshots_take(now=NOW)

    body = get(client_for, province.d11_supervisor, TREND, cycle=province.cycle.pk, since="2026-03-01").json()

    assert {s["school"]["id"] for s in body["series"]} == {province.s1.pk, province.s2.pk}
