"""The inspection, case and notice pages (CONTRACT section 9) for each role: rounds with their statistics
and chart, cases for the authority's staff (404 for schools), the notice board for every account."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.conftest import CASEWORK_NOW, FULL_NAMES
from tracker import models as m

pytestmark = pytest.mark.django_db


def _chart(response) -> dict:
    text = response.content.decode()
    start = text.index('id="chart-inspections-data"')
    return json.loads(text[text.index(">", start) + 1 : text.index("</script>", start)])


# --- Rounds --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["inspector", "supervisor"])
def test_the_authority_reads_the_rounds_and_their_statistics(district, casework, page_for, who):
    response = page_for(getattr(district, who), "en").get("/inspections/?year=2026")
    assert response.status_code == 200
    text = response.content.decode()
    assert f'id="round-{casework.inspection.pk}"' in text
    assert "东港花园小区" in text and "School A" in text and "Unannounced" in text.title()
    assert response.context["stats"].rounds == 1 and response.context["stats"].person_visits == 4
    assert 'data-chart="inspections"' in text
    chart = _chart(response)
    assert chart["series"][0]["data"][:4] == [1, 1, 1, 0]  # school, neighbourhood, tutoring centre, other
    assert sum(chart["series"][1]["data"]) == 2  # the district's two cases of 2026
    assert 'id="new-round"' in text  # both may record a round


def test_a_year_without_rounds_shows_empty_axes(district, casework, page_for):
    response = page_for(district.inspector, "en").get("/inspections/?year=2020")
    assert response.status_code == 200
    assert response.context["stats"].rounds == 0
    chart = _chart(response)
    assert chart["yAxis"]["data"] and chart["graphic"]["style"]["text"] == "No data yet"
    assert "No rounds in this year." in response.content.decode()


def test_the_default_year_is_the_latest_with_rounds(district, casework, page_for):
    assert page_for(district.inspector).get("/inspections/").context["year"] == 2026


@pytest.mark.parametrize("year", ["abc", "1999", "2100"])
def test_a_bad_year_is_400(district, page_for, year):
    assert page_for(district.inspector).get(f"/inspections/?year={year}").status_code == 400


def test_a_school_may_not_open_the_rounds(district, casework, page_for):
    assert page_for(district.school_a_user).get("/inspections/").status_code == 403
    assert page_for(district.school_a_user).post("/inspections/", {"kind": "announced"}).status_code == 403
    assert m.Inspection.objects.count() == 1


def test_another_district_does_not_see_the_rounds(district, casework, page_for):
    response = page_for(district.other_supervisor).get("/inspections/?year=2026")
    assert response.status_code == 200
    assert "东港花园小区" not in response.content.decode()
    assert response.context["stats"].rounds == 0


ROUND = {
    "kind": "announced",
    "held_on": "2026-03-01",
    "inspectors": "3",
    "target_kind": "tutoring_centre",
    "target_name": "新星培训学校",
    "summary": "检查培训机构。",
}


@pytest.mark.parametrize("who", ["inspector", "supervisor"])
def test_an_inspector_or_supervisor_records_a_round(district, page_for, who):
    response = page_for(getattr(district, who)).post("/inspections/", ROUND)
    assert response.status_code == 302
    round_ = m.Inspection.objects.get()
    assert (round_.authority, round_.kind, round_.held_on, round_.inspectors) == (
        district.bureau,
        "announced",
        date(2026, 3, 1),
        3,
    )
    assert [(t.kind, t.name) for t in round_.targets.all()] == [("tutoring_centre", "新星培训学校")]
    assert m.Event.objects.filter(type="inspection.created", subject_id=round_.pk).count() == 1


def test_a_visit_to_a_school_names_a_school_of_the_district(district, page_for):
    client = page_for(district.inspector, "en")
    missing = client.post("/inspections/", {**ROUND, "target_kind": "school", "target_name": ""})
    assert missing.status_code == 400 and "Choose the school visited." in missing.content.decode()
    foreign = client.post("/inspections/", {**ROUND, "target_kind": "school", "school": district.other_school.pk})
    assert foreign.status_code == 400
    ok = client.post(
        "/inspections/", {**ROUND, "target_kind": "school", "target_name": "", "school": district.school_b.pk}
    )
    assert ok.status_code == 302
    assert m.InspectionTarget.objects.get().school == district.school_b


@pytest.mark.parametrize(
    ("field", "value"), [("inspectors", "0"), ("held_on", "2026-13-01"), ("kind", "secret"), ("target_name", "")]
)
def test_a_bad_round_is_400_naming_the_field(district, page_for, field, value):
    response = page_for(district.inspector).post("/inspections/", {**ROUND, field: value})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not m.Inspection.objects.exists()


def test_a_round_in_the_future_is_refused_with_the_apis_status(district, page_for):
    response = page_for(district.inspector).post("/inspections/", {**ROUND, "held_on": "2099-01-01"})
    assert response.status_code == 400
    assert not m.Inspection.objects.exists()


# --- Cases ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["inspector", "supervisor"])
def test_the_authority_reads_the_cases(district, casework, page_for, who):
    client = page_for(getattr(district, who), "en")
    listing = client.get("/cases/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert f'id="case-{casework.reported.pk}"' in text and f'id="case-{casework.published.pk}"' in text
    assert f'id="case-{casework.other_case.pk}"' not in text
    detail = client.get(f"/cases/{casework.reported.pk}/")
    assert detail.status_code == 200
    assert "李四" in detail.content.decode()
    assert ('id="case-actions"' in detail.content.decode()) == (who == "inspector")


def test_a_case_read_from_the_web_is_in_the_access_log(district, casework, page_for):
    page_for(district.supervisor).get(f"/cases/{casework.reported.pk}/")
    reads = m.CaseRead.objects.filter(case=casework.reported, reader=district.supervisor)
    assert list(reads.values_list("via", flat=True)) == ["web.detail"]
    page_for(district.inspector).get("/cases/")
    assert set(
        m.CaseRead.objects.filter(reader=district.inspector, via="web.list").values_list("case_id", flat=True)
    ) == {casework.reported.pk, casework.published.pk}


@pytest.mark.parametrize("which", ["reported", "published", "other_case"])
def test_a_school_gets_404_on_every_case_page(district, casework, page_for, which):
    case = getattr(casework, which)
    for user in (district.school_a_user, district.school_b_user, district.other_school_user):
        client = page_for(user)
        assert client.get("/cases/").status_code == 404
        assert client.get(f"/cases/{case.pk}/").status_code == 404
        assert client.post(f"/cases/{case.pk}/", {"action": "publish"}).status_code == 404
        assert client.get("/cases/999999999/").status_code == 404
    assert not m.CaseRead.objects.filter(reader__in=[district.school_a_user, district.other_school_user]).exists()


def test_another_districts_case_is_404(district, casework, page_for):
    assert page_for(district.other_supervisor).get(f"/cases/{casework.reported.pk}/").status_code == 404


def test_a_supervisor_may_not_change_a_case(district, casework, page_for):
    url = f"/cases/{casework.reported.pk}/"
    response = page_for(district.supervisor).post(url, {"action": "status", "status": "investigating"})
    assert response.status_code == 403
    casework.reported.refresh_from_db()
    assert casework.reported.status == "reported"


def test_an_inspector_moves_a_case_to_its_notice(district, casework, page_for):
    client = page_for(district.inspector, "en")
    url = f"/cases/{casework.reported.pk}/"
    early = client.post(url, {"action": "publish"})
    assert early.status_code == 409
    assert client.post(url, {"action": "status", "status": "concluded"}).status_code == 400  # one step at a time
    assert client.post(url, {"action": "status", "status": "investigating"}).status_code == 302
    assert client.post(url, {"action": "status", "status": "concluded"}).status_code == 400  # no disposition yet
    assert client.post(url, {"action": "disposition", "disposition": ""}).status_code == 400
    assert client.post(url, {"action": "disposition", "disposition": "责令李四退还补课费。"}).status_code == 302
    assert client.post(url, {"action": "status", "status": "concluded"}).status_code == 302
    assert client.post(url, {"action": "publish"}).status_code == 302
    notice = m.Notice.objects.get(case=casework.reported)
    assert notice.persons == ["李某"] and "李四" not in notice.disposition
    assert client.post(url, {"action": "publish"}).status_code == 409
    assert client.post(url, {"action": "dance"}).status_code == 400


# --- Notices -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["school_a_user", "school_b_user", "supervisor", "inspector"])
def test_every_account_of_the_district_reads_the_notice_board(district, casework, page_for, who):
    response = page_for(getattr(district, who)).get("/notices/")
    assert response.status_code == 200
    text = response.content.decode()
    assert f'id="notice-{casework.notice.pk}"' in text
    assert f'id="notice-{casework.other_notice.pk}"' not in text
    assert "张某" in text and "欧阳某" in text
    assert not [name for name in FULL_NAMES if name in text]
    assert 'href="/notices/"' in text  # in the nav of every role


def test_the_notice_board_is_newest_first(district, casework, page_for, superuser):
    # the district's notice (the older row) published a day after the other district's
    m.Notice.objects.filter(pk=casework.notice.pk).update(published_at=CASEWORK_NOW + timedelta(days=1))
    text = page_for(superuser).get("/notices/").content.decode()
    assert text.index(f'id="notice-{casework.notice.pk}"') < text.index(f'id="notice-{casework.other_notice.pk}"')
