"""Exports: opened back with csv / openpyxl and compared with the JSON dashboards they mirror."""

from __future__ import annotations

import csv
import io

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook

from tests.tracker.reporting.test_dashboards import NOW, Province, build_province

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

EXPORTS = [
    "/api/v1/exports/overview.csv",
    "/api/v1/exports/overview.xlsx",
    "/api/v1/exports/criteria.csv",
    "/api/v1/exports/criteria.xlsx",
]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def province(db) -> Province:
    return build_province()


@pytest.fixture
def client_for(client_for):
    """Clients reading the English files, whose headers are the JSON dashboards' field names (the
    Chinese files are tested in tests/api/test_i18n.py)."""

    def make(user):
        client = client_for(user)
        client.credentials(HTTP_ACCEPT_LANGUAGE="en")
        return client

    return make


def read_csv(response) -> list[dict[str, str]]:
    content = response.content
    assert content.startswith(b"\xef\xbb\xbf"), "a UTF-8 BOM, for Excel"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def read_xlsx(response):
    return load_workbook(io.BytesIO(response.content))


def csv_number(value, decimals: int) -> str:
    return "" if value is None else f"{value:.{decimals}f}"


def local_naive(iso: str | None):
    from datetime import datetime

    return None if iso is None else datetime.fromisoformat(iso).replace(tzinfo=None)


@freeze_time(NOW)
def test_overview_csv_matches_the_json_overview(province, client_for):
    client = client_for(province.province_supervisor)
    overview = client.get("/api/v1/dashboards/overview/", {"cycle": province.cycle.pk}).json()

    response = client.get("/api/v1/exports/overview.csv", {"cycle": province.cycle.pk})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="overview-cycle-{province.cycle.pk}.csv"'
    rows = read_csv(response)
    assert len(rows) == len(overview["schools"]) == 5
    for row, expected in zip(rows, overview["schools"], strict=True):
        assert row["school"] == expected["school"]["name"]  # Chinese names survive the round trip
        assert int(row["school_id"]) == expected["school"]["id"]
        assert int(row["rank"]) == expected["rank"]
        for name in ("tasks", "approved", "submitted", "in_progress", "not_started", "returned", "overdue"):
            assert int(row[name]) == expected[name], name
        assert row["completion_rate"] == csv_number(expected["completion_rate"], 4)
        assert row["on_time_rate"] == csv_number(expected["on_time_rate"], 4)
        assert row["score"] == csv_number(expected["score"], 2)
        assert row["max_score"] == csv_number(expected["max_score"], 2)
        assert row["flag"] == (expected["flag"] or "")
        assert row["last_activity_at"] == (expected["last_activity_at"] or "")


@freeze_time(NOW)
def test_overview_xlsx_is_a_real_workbook_matching_the_json(province, client_for):
    client = client_for(province.province_supervisor)
    overview = client.get("/api/v1/dashboards/overview/", {"cycle": province.cycle.pk}).json()
    criteria = client.get("/api/v1/dashboards/criteria/", {"cycle": province.cycle.pk}).json()

    response = client.get("/api/v1/exports/overview.xlsx", {"cycle": province.cycle.pk})

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    workbook = read_xlsx(response)
    assert workbook.sheetnames == ["Overview", "Criteria"]  # one sheet per view
    sheet = workbook["Overview"]
    assert sheet.freeze_panes == "D2"  # header row and rank/id/name stay in view
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["rank", "school_id", "school"]
    assert all(cell.font.bold for cell in sheet[1])
    columns = {name: index for index, name in enumerate(header)}
    data = list(sheet.iter_rows(min_row=2))
    assert len(data) == len(overview["schools"])
    for cells, expected in zip(data, overview["schools"], strict=True):
        values = {name: cells[index].value for name, index in columns.items()}
        assert values["school"] == expected["school"]["name"]
        assert values["rank"] == expected["rank"]
        assert values["tasks"] == expected["tasks"]
        assert values["overdue"] == expected["overdue"]
        assert values["completion_rate"] == expected["completion_rate"]
        assert values["on_time_rate"] == expected["on_time_rate"]
        assert values["score"] == expected["score"]
        assert values["flag"] == expected["flag"]
        assert values["last_activity_at"] == local_naive(expected["last_activity_at"])
        assert cells[columns["completion_rate"]].number_format == "0.0%"
        assert cells[columns["on_time_rate"]].number_format == "0.0%"
        assert cells[columns["score"]].number_format == "0.00"
        assert cells[columns["max_score"]].number_format == "0.00"
        assert cells[columns["tasks"]].number_format == "0"
    criteria_sheet = workbook["Criteria"]
    codes = [row[1].value for row in criteria_sheet.iter_rows(min_row=2)]
    assert codes == [row["criterion"]["code"] for row in criteria["criteria"]]


@freeze_time(NOW)
def test_criteria_csv_and_xlsx_match_the_json_criteria(province, client_for):
    client = client_for(province.province_supervisor)
    criteria = client.get("/api/v1/dashboards/criteria/", {"cycle": province.cycle.pk}).json()["criteria"]

    as_csv = read_csv(client.get("/api/v1/exports/criteria.csv", {"cycle": province.cycle.pk}))
    workbook = read_xlsx(client.get("/api/v1/exports/criteria.xlsx", {"cycle": province.cycle.pk}))

    assert workbook.sheetnames == ["Criteria"]
    sheet = workbook["Criteria"]
    assert sheet.freeze_panes == "D2"
    header = [cell.value for cell in sheet[1]]
    xlsx_rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(as_csv) == len(xlsx_rows) == len(criteria) == 3
    for row_csv, row_xlsx, expected in zip(as_csv, xlsx_rows, criteria, strict=True):
        assert row_csv["code"] == row_xlsx["code"] == expected["criterion"]["code"]
        assert row_csv["title"] == row_xlsx["title"] == expected["criterion"]["title"]
        assert int(row_csv["tasks"]) == row_xlsx["tasks"] == expected["tasks"]
        assert int(row_csv["approved"]) == row_xlsx["approved"] == expected["approved"]
        assert row_csv["on_time_rate"] == csv_number(expected["on_time_rate"], 4)
        assert row_xlsx["on_time_rate"] == expected["on_time_rate"]
        assert row_csv["average_score"] == csv_number(expected["average_score"], 2)
        assert row_xlsx["average_score"] == expected["average_score"]


@freeze_time(NOW)
def test_rollup_exports_have_one_row_per_child_unit(province, client_for):
    client = client_for(province.province_supervisor)
    params = {"cycle": province.cycle.pk, "unit": province.province.pk}
    overview = client.get("/api/v1/dashboards/overview/", params).json()

    rows = read_csv(client.get("/api/v1/exports/overview.csv", params))
    sheet = read_xlsx(client.get("/api/v1/exports/overview.xlsx", params))["Overview"]

    assert [(r["unit"], r["kind"], r["schools"], r["score"]) for r in rows] == [
        (u["unit"]["name"], u["unit"]["kind"], str(u["schools"]), csv_number(u["score"], 2)) for u in overview["units"]
    ]
    assert [c.value for c in sheet[1]][:4] == ["rank", "unit_id", "unit", "kind"]
    assert sheet.freeze_panes == "E2"
    assert [row[2].value for row in sheet.iter_rows(min_row=2)] == ["Zhoushan City", "Ningbo City"]


@freeze_time(NOW)
def test_a_district_supervisors_export_holds_only_their_schools(province, client_for):
    rows = read_csv(
        client_for(province.d11_supervisor).get("/api/v1/exports/overview.csv", {"cycle": province.cycle.pk})
    )

    assert {int(r["school_id"]) for r in rows} == {province.s1.pk, province.s2.pk}


@pytest.mark.parametrize("url", EXPORTS)
def test_a_school_account_gets_403_on_exports(province, client_for, url):
    response = client_for(province.s1_user).get(url, {"cycle": province.cycle.pk})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("url", EXPORTS)
def test_exports_refuse_out_of_scope_cycles_and_units_and_bad_input(province, client_for, url):
    client = client_for(province.city1_supervisor)

    assert client.get(url, {"cycle": province.outside_cycle.pk}).status_code == 404
    assert client.get(url, {"cycle": province.cycle.pk, "unit": province.city2.pk}).status_code == 404
    bad = client.get(url, {"cycle": "x"})
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["cycle"]


def test_exports_are_listed_in_the_openapi_schema(client_for, db):
    schema = client_for(None).get("/api/schema/", {"format": "json"}).json()

    for url in EXPORTS:
        assert url in schema["paths"], url
    csv_content = schema["paths"]["/api/v1/exports/overview.csv"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in csv_content
    xlsx_content = schema["paths"]["/api/v1/exports/overview.xlsx"]["get"]["responses"]["200"]["content"]
    assert XLSX_TYPE in xlsx_content
    for url in ("/api/v1/dashboards/overview/", "/api/v1/dashboards/trend/", "/api/v1/dashboards/criteria/"):
        parameters = {p["name"]: p for p in schema["paths"][url]["get"]["parameters"]}
        # optional: the latest active cycle in scope by default
        assert parameters["cycle"].get("required", False) is False
