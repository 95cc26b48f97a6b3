"""Exports of the overview and criteria views: CSV (UTF-8 with a BOM, so Excel reads Chinese names) and
XLSX (a real workbook: bold header row, frozen panes, number formats, one sheet per view).

They go through the same access checks and the same selectors as the JSON dashboards
(api.dashboards.dashboard_request, overview_for), so a file never shows what the screen would not.
Rates are written as fractions in [0, 1] (CSV: 4 decimals; XLSX: percent format), scores with 2 decimals.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from rest_framework.views import APIView

from tracker.reporting.overview import Overview
from tracker.reporting.school import criteria_overview

from .dashboards import CYCLE_PARAM, UNIT_PARAM, dashboard_request, overview_for

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

COUNT = "0"
RATE = "0.0%"
SCORE = "0.00"
DATETIME = "yyyy-mm-dd hh:mm"
TEXT = "@"


# What each column's header says, in the caller's language; in English the header is the field name of
# the JSON dashboards (scripts read the English files by those names).
HEADERS = {
    "rank": pgettext_lazy("export column", "rank"),
    "school_id": pgettext_lazy("export column", "school_id"),
    "school": pgettext_lazy("export column", "school"),
    "unit_id": pgettext_lazy("export column", "unit_id"),
    "unit": pgettext_lazy("export column", "unit"),
    "kind": pgettext_lazy("export column", "kind"),
    "schools": pgettext_lazy("export column", "schools"),
    "tasks": pgettext_lazy("export column", "tasks"),
    "approved": pgettext_lazy("export column", "approved"),
    "submitted": pgettext_lazy("export column", "submitted"),
    "in_progress": pgettext_lazy("export column", "in_progress"),
    "not_started": pgettext_lazy("export column", "not_started"),
    "returned": pgettext_lazy("export column", "returned"),
    "overdue": pgettext_lazy("export column", "overdue"),
    "at_risk": pgettext_lazy("export column", "at_risk"),
    "completion_rate": pgettext_lazy("export column", "completion_rate"),
    "on_time_rate": pgettext_lazy("export column", "on_time_rate"),
    "on_time_original_rate": pgettext_lazy("export column", "on_time_original_rate"),
    "extensions": pgettext_lazy("export column", "extensions"),
    "score": pgettext_lazy("export column", "score"),
    "max_score": pgettext_lazy("export column", "max_score"),
    "flag": pgettext_lazy("export column", "flag"),
    "flagged_schools": pgettext_lazy("export column", "flagged_schools"),
    "last_activity_at": pgettext_lazy("export column", "last_activity_at"),
    "criterion_id": pgettext_lazy("export column", "criterion_id"),
    "code": pgettext_lazy("export column", "code"),
    "title": pgettext_lazy("export column", "title"),
    "category": pgettext_lazy("export column", "category"),
    "due_at": pgettext_lazy("export column", "due_at"),
    "average_score": pgettext_lazy("export column", "average_score"),
}
SHEETS = {"Overview": pgettext_lazy("export sheet", "Overview"), "Criteria": pgettext_lazy("export sheet", "Criteria")}


def _said(text: str, table: dict[str, Any]) -> str:
    return str(table.get(text, text))


@dataclass(frozen=True)
class Column:
    header: str  # the English field name; written through HEADERS
    get: Callable[[dict[str, Any]], Any]
    kind: str  # one of the number formats above
    width: int = 12


def _field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row[name]


def _counts(*names: str) -> list[Column]:
    return [Column(name, _field(name), COUNT) for name in names]


_RATES = [
    Column("completion_rate", _field("completion_rate"), RATE),
    Column("on_time_rate", _field("on_time_rate"), RATE),
    Column("on_time_original_rate", _field("on_time_original_rate"), RATE),
]
_RATES_AND_SCORES = [
    *_RATES,
    Column("extensions", _field("extensions"), COUNT),
    Column("score", _field("score"), SCORE),
    Column("max_score", _field("max_score"), SCORE),
]

SCHOOL_COLUMNS = [
    Column("rank", _field("rank"), COUNT, 8),
    Column("school_id", lambda row: row["school"]["id"], COUNT, 10),
    Column("school", lambda row: row["school"]["name"], TEXT, 36),
    *_counts("tasks", "approved", "submitted", "in_progress", "not_started", "returned", "overdue", "at_risk"),
    *_RATES_AND_SCORES,
    Column("flag", _field("flag"), TEXT, 10),
    Column("last_activity_at", _field("last_activity_at"), DATETIME, 18),
]

UNIT_COLUMNS = [
    Column("rank", _field("rank"), COUNT, 8),
    Column("unit_id", lambda row: row["unit"]["id"], COUNT, 10),
    Column("unit", lambda row: row["unit"]["name"], TEXT, 36),
    Column("kind", lambda row: row["unit"]["kind"], TEXT, 10),
    *_counts(
        "schools", "tasks", "approved", "submitted", "in_progress", "not_started", "returned", "overdue", "at_risk"
    ),
    *_RATES_AND_SCORES,
    Column("flag", _field("flag"), TEXT, 10),
    Column("flagged_schools", _field("flagged_schools"), COUNT),
    Column("last_activity_at", _field("last_activity_at"), DATETIME, 18),
]

CRITERIA_COLUMNS = [
    Column("criterion_id", lambda row: row["criterion"]["id"], COUNT, 12),
    Column("code", lambda row: row["criterion"]["code"], TEXT, 10),
    Column("title", lambda row: row["criterion"]["title"], TEXT, 40),
    Column("category", _field("category"), TEXT, 24),
    Column("due_at", _field("due_at"), DATETIME, 18),
    Column("max_score", _field("max_score"), SCORE),
    *_counts("tasks", "approved", "submitted", "in_progress", "not_started", "returned", "overdue", "at_risk"),
    *_RATES,
    Column("extensions", _field("extensions"), COUNT),
    Column("average_score", _field("average_score"), SCORE),
]


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    freeze: str  # the top-left cell that stays scrollable: header row and name columns frozen


# --- Writers -------------------------------------------------------------------------------------------
def _csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == RATE:
        return f"{value:.4f}"
    if kind == SCORE:
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    return value


def csv_bytes(sheet: Sheet) -> bytes:
    out = io.StringIO()
    out.write("\ufeff")  # the BOM: Excel then reads the file as UTF-8
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_said(column.header, HEADERS) for column in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_csv_value(column.get(row), column.kind) for column in sheet.columns])
    return out.getvalue().encode("utf-8")


def _excel_time(value: datetime | str) -> datetime:
    """Local wall-clock time without a zone: Excel has no time zones."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return timezone.localtime(value).replace(tzinfo=None)


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    workbook = Workbook(write_only=True)  # streams rows: memory stays flat at province scale
    bold = Font(bold=True)
    for sheet in sheets:
        ws = workbook.create_sheet(title=_said(sheet.title, SHEETS))
        ws.freeze_panes = sheet.freeze
        for index, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = column.width
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(ws, value=_said(column.header, HEADERS))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            cells = []
            for column in sheet.columns:
                value = column.get(row)
                if column.kind == DATETIME and value is not None:
                    value = _excel_time(value)
                cell = WriteOnlyCell(ws, value=value)
                if column.kind != TEXT:
                    cell.number_format = column.kind
                cells.append(cell)
            ws.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Sheets --------------------------------------------------------------------------------------------
def overview_sheet(overview: Overview) -> Sheet:
    if overview.rolled_up:
        return Sheet("Overview", UNIT_COLUMNS, overview.rows, freeze="E2")
    return Sheet("Overview", SCHOOL_COLUMNS, overview.rows, freeze="D2")


def criteria_sheet(rows: list[dict[str, Any]]) -> Sheet:
    return Sheet("Criteria", CRITERIA_COLUMNS, rows, freeze="D2")


def _criteria_rows(req, now) -> list[dict[str, Any]]:
    roots = (req.unit.pk,) if req.unit is not None else req.roots
    return criteria_overview(cycle=req.cycle, roots=roots, now=now)


def _stem(req, view: str) -> str:
    suffix = f"-unit-{req.unit.pk}" if req.unit is not None else ""
    return f"{view}-cycle-{req.cycle.pk}{suffix}"


CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV, UTF-8 with BOM")}
XLSX_RESPONSE = {(200, XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="an XLSX workbook")}


class OverviewCsvView(APIView):
    @extend_schema(parameters=[CYCLE_PARAM, UNIT_PARAM], responses=CSV_RESPONSE)
    def get(self, request):
        req = dashboard_request(request)
        sheet = overview_sheet(overview_for(req, now=timezone.now()))
        return _attachment(csv_bytes(sheet), CSV_TYPE, f"{_stem(req, 'overview')}.csv")


class OverviewXlsxView(APIView):
    """The overview sheet, and the criteria sheet beside it: one sheet per view."""

    @extend_schema(parameters=[CYCLE_PARAM, UNIT_PARAM], responses=XLSX_RESPONSE)
    def get(self, request):
        req = dashboard_request(request)
        now = timezone.now()
        sheets = [overview_sheet(overview_for(req, now=now)), criteria_sheet(_criteria_rows(req, now))]
        return _attachment(xlsx_bytes(sheets), XLSX_TYPE, f"{_stem(req, 'overview')}.xlsx")


class CriteriaCsvView(APIView):
    @extend_schema(parameters=[CYCLE_PARAM, UNIT_PARAM], responses=CSV_RESPONSE)
    def get(self, request):
        req = dashboard_request(request)
        sheet = criteria_sheet(_criteria_rows(req, timezone.now()))
        return _attachment(csv_bytes(sheet), CSV_TYPE, f"{_stem(req, 'criteria')}.csv")


class CriteriaXlsxView(APIView):
    @extend_schema(parameters=[CYCLE_PARAM, UNIT_PARAM], responses=XLSX_RESPONSE)
    def get(self, request):
        req = dashboard_request(request)
        sheets = [criteria_sheet(_criteria_rows(req, timezone.now()))]
        return _attachment(xlsx_bytes(sheets), XLSX_TYPE, f"{_stem(req, 'criteria')}.xlsx")
