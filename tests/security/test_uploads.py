"""Upload abuse: oversized bodies, too many parts, markup disguised as PDF, hostile names, polyglots.

Each is refused with a clear 4xx or stored harmlessly: the type comes from the bytes, the name on disk is
random, the name shown (and sent in Content-Disposition) is cleaned, and the download is an attachment
that a browser will not sniff or run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from rest_framework.test import APIClient

from tests.conftest import District
from tracker import models as m
from tracker.assessment.evidence_services import evidence_path

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def media(tmp_path: Path):
    root = tmp_path / "media"
    root.mkdir()
    with override_settings(MEDIA_ROOT=str(root)):
        yield root


@pytest.fixture
def task(district: District) -> m.Task:
    return m.Task.objects.get(cycle=district.cycle, school=district.school_a)


@pytest.fixture
def school(district: District) -> APIClient:
    client = APIClient()
    client.force_authenticate(district.school_a_user)
    return client


def upload(client: APIClient, task: m.Task, name: str, content: bytes, content_type: str = "application/pdf"):
    return client.post(
        f"/api/v1/tasks/{task.pk}/evidence/",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


def assert_stored_safely(media: Path, item: m.Evidence, *user_bits: str) -> None:
    """On disk: MEDIA_ROOT/evidence/<2 hex>/<32 hex>, nothing of the uploaded name in the path."""
    path = evidence_path(item)
    assert path.is_file()
    relative = path.relative_to(media)
    assert re.fullmatch(r"evidence/[0-9a-f]{2}/[0-9a-f]{32}", relative.as_posix()), relative
    assert relative.parts[1] == item.stored_name[:2] and relative.name == item.stored_name
    for bit in user_bits:
        assert bit.lower() not in str(relative).lower()


def test_a_file_over_the_limit_is_refused_with_413(school, task, media) -> None:
    with override_settings(EVIDENCE_MAX_BYTES=1024):
        response = upload(school, task, "big.pdf", PDF + b"0" * 2048)
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert not stored_files(media)
    assert not m.Evidence.objects.filter(task=task).exists()


def test_a_body_far_over_the_limit_is_refused_from_its_declared_length(school, task, media) -> None:
    with override_settings(EVIDENCE_MAX_BYTES=1024):
        response = upload(school, task, "huge.pdf", PDF + b"0" * (200 * 1024))
    assert response.status_code == 413
    assert not stored_files(media)


def test_a_malformed_content_length_is_not_a_server_error(school, task, media) -> None:
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("a.pdf", PDF)})
    response = school.generic(
        "POST", f"/api/v1/tasks/{task.pk}/evidence/", body, content_type=MULTIPART_CONTENT, CONTENT_LENGTH="12abc"
    )
    assert 400 <= response.status_code < 500


def test_too_many_files_in_one_body_is_a_400_not_a_500(school, task, media, settings) -> None:
    files = [SimpleUploadedFile(f"f{n}.pdf", PDF) for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    response = school.post(f"/api/v1/tasks/{task.pk}/evidence/", {"file": files}, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "DATA_UPLOAD_MAX_NUMBER_FILES" in response.json()["detail"]
    assert not stored_files(media)


def test_too_many_fields_in_one_body_is_a_400_not_a_500(school, task, media, settings) -> None:
    data = {f"x{n}": "1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    data["file"] = SimpleUploadedFile("a.pdf", PDF)
    response = school.post(f"/api/v1/tasks/{task.pk}/evidence/", data, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert not stored_files(media)


def test_two_files_in_the_file_field_are_refused(school, task, media) -> None:
    files = [SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("b.pdf", PDF)]
    response = school.post(f"/api/v1/tasks/{task.pk}/evidence/", {"file": files}, format="multipart")
    assert response.status_code == 400
    assert not stored_files(media)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", HTML),
        ("report.pdf", SVG),
        ("image.png", SVG),
        ("report.pdf", b"%PDF-1.4\n<script>alert(1)</script>\n%%EOF\n"),  # a PDF that is also a page
        ("image.png", PNG + b"<html><script>alert(1)</script></html>"),
        ("shell.pdf", b"%PDF-1.4\n<?php system($_GET['c']); ?>\n"),
        ("empty.pdf", b""),
        ("notes.txt", b"just text"),
        ("archive.docx", b"PK\x03\x04" + b"\x00" * 40),  # a zip header, not a real document
    ],
)
def test_markup_disguised_or_mixed_into_an_allowed_type_is_refused_with_415(school, task, media, name, content) -> None:
    response = upload(school, task, name, content)
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "unsupported_file_type"
    assert not stored_files(media)


def test_the_declared_content_type_is_not_trusted(school, task, media) -> None:
    response = upload(school, task, "page.html", PDF, content_type="text/html")
    assert response.status_code == 201
    item = m.Evidence.objects.get(pk=response.json()["id"])
    assert item.content_type == "application/pdf"
    assert item.filename == "page.pdf"


@pytest.mark.parametrize(
    ("name", "shown", "user_bits"),
    [
        ("x.pdf.php", "x.pdf", ["php"]),
        ("../../../etc/passwd.pdf", "passwd.pdf", ["etc", "passwd", ".."]),
        ("..\\..\\windows\\win.ini.pdf", "win.pdf", ["windows", "win"]),
        ("evil\x00.php.pdf", "evil.pdf", ["evil", "php"]),
        ("/absolute/path.pdf", "path.pdf", ["absolute"]),
        ("....pdf", "pdf.pdf", []),
        ("\x01\x7f...", "evidence.pdf", []),
        ("a" * 5000 + ".pdf", "a" * 100 + ".pdf", ["aaaa"]),
    ],
)
def test_hostile_names_are_cleaned_and_never_reach_the_disk(school, task, media, name, shown, user_bits) -> None:
    response = upload(school, task, name, PDF)
    assert response.status_code == 201, response.content
    item = m.Evidence.objects.get(pk=response.json()["id"])
    assert item.filename == shown
    assert response.json()["filename"] == shown
    assert_stored_safely(media, item, *user_bits)
    assert stored_files(media) == [evidence_path(item)]
    assert evidence_path(item).read_bytes() == PDF


def test_a_polyglot_beyond_the_sniffed_head_is_served_as_an_inert_attachment(school, task, media) -> None:
    """Markup after the first 8 KiB is not looked for: the download must make it harmless anyway."""
    content = PDF + b" " * 9000 + b"<html><script>alert(1)</script></html>"
    response = upload(school, task, "late.pdf", content)
    assert response.status_code in (201, 415)
    if response.status_code == 415:
        return
    download = school.get(f"/api/v1/evidence/{response.json()['id']}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    assert b"".join(download.streaming_content) == content


@pytest.mark.parametrize(
    "name",
    [
        'quote".pdf',
        "line\r\nX-Injected: 1.pdf",
        "报告 2026.pdf",
        "semi;colon=x.pdf",
    ],
)
def test_the_download_header_carries_only_the_cleaned_name(school, task, media, name) -> None:
    response = upload(school, task, name, PDF)
    assert response.status_code == 201, response.content
    item = m.Evidence.objects.get(pk=response.json()["id"])
    download = school.get(f"/api/v1/evidence/{item.pk}/download/")
    b"".join(download.streaming_content)
    header = download["Content-Disposition"]
    assert download.status_code == 200
    assert "\r" not in header and "\n" not in header
    assert "X-Injected" not in download
    assert header.startswith("attachment;")
    # Either a plain quoted ASCII name with no bare quote inside, or an RFC 5987 encoded one.
    plain = re.fullmatch(r'attachment; filename="((?:[^"\\]|\\.)*)"', header)
    encoded = re.fullmatch(r"attachment; filename\*=utf-8''[A-Za-z0-9%._~!$&'()*+,;=:@-]+", header)
    assert plain or encoded, header
    assert item.filename.endswith(".pdf") and "/" not in item.filename and "\\" not in item.filename


def test_every_stored_file_has_a_random_name(school, task, media) -> None:
    names = ["a.pdf", "a.pdf", "../a.pdf", "b.png"]
    contents = [PDF, PDF, PDF, PNG]
    for name, content in zip(names, contents, strict=True):
        assert upload(school, task, name, content).status_code == 201
    files = stored_files(media)
    assert len(files) == 4
    assert len({f.name for f in files}) == 4  # same upload name twice, two distinct stored names
    for f in files:
        assert re.fullmatch(r"[0-9a-f]{32}", f.name)
        assert f.parent.parent == media / "evidence"
