"""Exports of the overview and criteria views: CSV (UTF-8 with a BOM, so Excel reads Chinese names) and
XLSX (a real workbook: bold header row, frozen panes, number formats, one sheet per view).

Every export goes through the two writers below (csv_bytes, xlsx_bytes), and every text cell through
spreadsheet_text: the one place where text that a spreadsheet program would run as a formula is
neutralised (OWASP "CSV Injection") and control characters that no sheet may hold are dropped. No
other module writes CSV or XLSX (tests/api/test_export_injection.py holds the tree to that).

They go through the same access checks and the same selectors as the JSON dashboards
(api.dashboards.dashboard_request, overview_for), so a file never shows what the screen would not.
Rates are written as fractions in [0, 1] (CSV: 4 decimals; XLSX: percent format), scores with 2 decimals.
"""

from __future__ import annotations

import csv
import io
import re
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
from openpyxl.cell.cell import TYPE_STRING
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
# A cell whose text begins with one of these is read by Excel, LibreOffice or WPS as a formula (OWASP
# "CSV Injection": = + - @ tab CR; the full-width forms too, which CJK input methods produce and some
# spreadsheet programs accept). Leading spaces do not hide them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# C0 and C1 control characters other than tab, LF and CR: no XLSX may hold them (openpyxl refuses the
# whole workbook), and in a CSV they only confuse the reader.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def is_formula_like(text: str) -> bool:
    return text.lstrip(" ").startswith(FORMULA_TRIGGERS)


def spreadsheet_text(text: str, *, quote: bool) -> str:
    """Text as a spreadsheet cell may carry it: control characters dropped and, with `quote`, a leading
    apostrophe before formula-like text, which spreadsheet programs then show as text (CSV)."""
    text = _CONTROL.sub("", text)
    if quote and is_formula_like(text):
        return "'" + text
    return text


def _csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_text(value, quote=True)
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
    # Every field quoted (OWASP): a separator or a quote inside a text never starts a new cell.
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([_csv_value(_said(column.header, HEADERS), TEXT) for column in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_csv_value(column.get(row), column.kind) for column in sheet.columns])
    return out.getvalue().encode("utf-8")


def _excel_time(value: datetime | str) -> datetime:
    """Local wall-clock time without a zone: Excel has no time zones."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return timezone.localtime(value).replace(tzinfo=None)


def _xlsx_cell(ws, value: Any, number_format: str | None = None, *, font: Font | None = None) -> WriteOnlyCell:
    """One cell; text is always a string cell (openpyxl would take "=..." for a formula), and formula-like
    text carries Excel's quote prefix so that editing it does not turn it into a formula either."""
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, value=spreadsheet_text(value, quote=False))
        cell.data_type = TYPE_STRING
        if is_formula_like(cell.value):
            cell.quotePrefix = True
    else:
        cell = WriteOnlyCell(ws, value=value)
        if number_format is not None:
            cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    workbook = Workbook(write_only=True)  # streams rows: memory stays flat at province scale
    bold = Font(bold=True)
    for sheet in sheets:
        ws = workbook.create_sheet(title=_said(sheet.title, SHEETS))
        ws.freeze_panes = sheet.freeze
        for index, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = column.width
        ws.append([_xlsx_cell(ws, _said(column.header, HEADERS), font=bold) for column in sheet.columns])
        for row in sheet.rows:
            cells = []
            for column in sheet.columns:
                value = column.get(row)
                if column.kind == DATETIME and value is not None:
                    value = _excel_time(value)
                cells.append(_xlsx_cell(ws, value, None if column.kind == TEXT else column.kind))
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
