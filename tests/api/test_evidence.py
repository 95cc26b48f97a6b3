"""Evidence: sniffed types, size limits before reading, random storage names, safe downloads."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import override_settings

from tests.factories import EvidenceFactory
from tests.samples import SAMPLES, pdf_bytes, png_bytes, upload
from tracker import models as m
from tracker.assessment import task_services
from tracker.assessment.evidence_services import evidence_path

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def _url(task: m.Task) -> str:
    return f"/api/v1/tasks/{task.pk}/evidence/"


@pytest.fixture
def school(district, client_for):
    return client_for(district.school_a_user)


# --- accepted types ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_allowed_type_is_stored_with_its_hash_size_and_sniffed_type(school, task_a, kind):
    # given
    build, name, content_type = SAMPLES[kind]
    data = build()
    # when
    response = school.post(_url(task_a), {"file": SimpleUploadedFile(name, data, content_type)}, format="multipart")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "filename", "size", "sha256", "content_type", "uploaded_at"}
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["content_type"] == content_type
    item = m.Evidence.objects.get(pk=body["id"])
    assert evidence_path(item).read_bytes() == data
    event = m.Event.objects.get(type="evidence.uploaded", subject_id=str(item.pk))
    assert event.data["sha256"] == item.sha256
    assert event.task_id == task_a.pk


def test_the_type_comes_from_the_bytes_not_the_name_or_the_declared_header(school, task_a):
    # a PNG uploaded as "scan.pdf" with a PDF header is stored as a PNG named scan.png
    response = school.post(
        _url(task_a), {"file": SimpleUploadedFile("scan.pdf", png_bytes(), "application/pdf")}, format="multipart"
    )
    assert response.status_code == 201
    assert response.json()["content_type"] == "image/png"
    assert response.json()["filename"] == "scan.png"


def test_the_file_is_stored_under_a_random_name_inside_media_root(school, task_a):
    response = school.post(
        _url(task_a),
        {"file": SimpleUploadedFile("../../etc/passwd.pdf", pdf_bytes(), "application/pdf")},
        format="multipart",
    )
    assert response.status_code == 201
    item = m.Evidence.objects.get(pk=response.json()["id"])
    path = evidence_path(item).resolve()
    assert path.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert re.fullmatch(r"[0-9a-f]{32}", path.name)
    assert "passwd" not in str(path)
    assert item.filename == "passwd.pdf"  # the shown name has no path in it
    second = school.post(_url(task_a), {"file": upload("pdf", name="passwd.pdf")}, format="multipart").json()
    assert m.Evidence.objects.get(pk=second["id"]).stored_name != item.stored_name


@pytest.mark.parametrize(
    ("uploaded", "shown"),
    [
        ("报告.pdf", "报告.pdf"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("evil\x00.pdf", "evil.pdf"),
        ("report.php.pdf", "report.pdf"),
        ("...", "evidence.pdf"),
        ("a" * 400 + ".pdf", "a" * 100 + ".pdf"),
    ],
)
def test_the_shown_filename_is_cleaned(school, task_a, uploaded, shown):
    response = school.post(
        _url(task_a), {"file": SimpleUploadedFile(uploaded, pdf_bytes(), "application/pdf")}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["filename"] == shown


# --- refused types -------------------------------------------------------------------------------
def _zip(names: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in names.items():
            archive.writestr(name, text)
    return buffer.getvalue()


DISGUISED = {
    "html_as_pdf": ("report.pdf", "application/pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
    "exe_as_pdf": ("setup.pdf", "application/pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200),
    "exe": ("setup.exe", "application/octet-stream", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200),
    "svg": ("logo.svg", "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    "svg_as_png": ("logo.png", "image/png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
    "pdf_html_polyglot": ("p.pdf", "application/pdf", b"%PDF-1.4\n<html><script>alert(1)</script></html>"),
    "text": ("notes.pdf", "application/pdf", "会议纪要".encode()),
    "empty": ("empty.pdf", "application/pdf", b""),
    "plain_zip": ("archive.docx", "application/zip", _zip({"a.txt": "x"})),
    "zip_with_content_types_only": ("x.xlsx", "application/zip", _zip({"[Content_Types].xml": "<Types/>"})),
    "broken_zip": ("x.docx", "application/zip", b"PK\x03\x04" + b"\x00" * 100),
    "gif": ("a.png", "image/png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    "elf": ("a.pdf", "application/pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 50),
}


@pytest.mark.parametrize("case", list(DISGUISED))
def test_disguised_or_unknown_files_are_415_and_nothing_is_stored(school, task_a, case):
    name, content_type, data = DISGUISED[case]
    files_before = {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}
    response = school.post(_url(task_a), {"file": SimpleUploadedFile(name, data, content_type)}, format="multipart")
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "unsupported_file_type"
    assert not m.Evidence.objects.filter(task=task_a).exists()
    assert not m.Event.objects.filter(type="evidence.uploaded").exists()
    assert {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()} == files_before


def test_a_type_left_out_of_the_setting_is_415(school, task_a):
    with override_settings(EVIDENCE_ALLOWED_TYPES=["pdf"]):
        response = school.post(_url(task_a), {"file": upload("docx")}, format="multipart")
        assert response.status_code == 415
        assert school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").status_code == 201


# --- size ---------------------------------------------------------------------------------------
@override_settings(EVIDENCE_MAX_BYTES=1000)
def test_a_file_above_the_limit_is_413_and_nothing_is_stored(school, task_a):
    files_before = {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}
    big = png_bytes(40, 40, noise=True)
    assert len(big) > 1000
    response = school.post(_url(task_a), {"file": SimpleUploadedFile("big.png", big, "image/png")}, format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert not m.Evidence.objects.exists()
    assert {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()} == files_before


@override_settings(EVIDENCE_MAX_BYTES=1000)
def test_a_file_of_exactly_the_limit_is_accepted(school, task_a):
    data = pdf_bytes()
    data += b"%" + b"x" * (1000 - len(data) - 2) + b"\n"
    assert len(data) == 1000
    response = school.post(
        _url(task_a), {"file": SimpleUploadedFile("a.pdf", data, "application/pdf")}, format="multipart"
    )
    assert response.status_code == 201
    assert response.json()["size"] == 1000


@override_settings(EVIDENCE_MAX_BYTES=1000)
def test_an_oversize_request_is_refused_on_its_declared_length_before_the_body_is_read(school, task_a):
    # given a request that declares 50 MB but whose body is a few bytes: reading it would fail the
    # test client's FakePayload ("cannot read more than the available bytes")
    response = school.generic(
        "POST",
        _url(task_a),
        b"--b\r\n",
        content_type="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"


def test_the_declared_length_is_judged_only_after_scope_and_role(district, client_for, task_a, task_b):
    big = str(500 * 1024 * 1024)
    kwargs = {"content_type": "multipart/form-data; boundary=b", "CONTENT_LENGTH": big}
    assert client_for(district.school_b_user).generic("POST", _url(task_a), b"--b\r\n", **kwargs).status_code == 404
    assert client_for(district.supervisor).generic("POST", _url(task_a), b"--b\r\n", **kwargs).status_code == 403


class _RecordingHandler(TemporaryFileUploadHandler):
    """Django's own temporary-file handler, noting where each file went."""

    seen: list[str] = []

    def file_complete(self, file_size):
        result = super().file_complete(file_size)
        _RecordingHandler.seen.append(type(result).__name__)
        return result


@override_settings(
    FILE_UPLOAD_MAX_MEMORY_SIZE=10_000,
    FILE_UPLOAD_HANDLERS=["django.core.files.uploadhandler.MemoryFileUploadHandler", f"{__name__}._RecordingHandler"],
)
def test_a_large_upload_streams_to_a_temporary_file_not_to_memory(school, task_a):
    # given a file larger than FILE_UPLOAD_MAX_MEMORY_SIZE
    _RecordingHandler.seen = []
    data = png_bytes(200, 200, noise=True)
    assert len(data) > 10_000
    # when
    response = school.post(_url(task_a), {"file": SimpleUploadedFile("big.png", data, "image/png")}, format="multipart")
    # then Django handed it over on disk, and the stored copy is byte-identical
    assert response.status_code == 201
    assert _RecordingHandler.seen == ["TemporaryUploadedFile"]
    item = m.Evidence.objects.get(pk=response.json()["id"])
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert evidence_path(item).read_bytes() == data


def test_the_settings_stream_uploads_above_a_small_memory_threshold():
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 2.5 * 1024 * 1024
    assert "django.core.files.uploadhandler.TemporaryFileUploadHandler" in settings.FILE_UPLOAD_HANDLERS
    assert settings.EVIDENCE_MAX_BYTES == 20 * 1024 * 1024


# --- download -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["pdf", "png", "docx"])
def test_download_is_an_attachment_with_nosniff_and_the_same_bytes(school, district, client_for, task_a, kind):
    build, name, content_type = SAMPLES[kind]
    item = school.post(_url(task_a), {"file": upload(kind)}, format="multipart").json()
    for user in (district.school_a_user, district.supervisor, district.inspector):
        response = client_for(user).get(f"/api/v1/evidence/{item['id']}/download/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == build()
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith("attachment;")
        assert name.rsplit(".", 1)[0] in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"


def test_a_non_ascii_filename_is_encoded_in_content_disposition(school, task_a):
    item = school.post(_url(task_a), {"file": upload("pdf", name="自查报告.pdf")}, format="multipart").json()
    response = school.get(f"/api/v1/evidence/{item['id']}/download/")
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert "\n" not in response["Content-Disposition"]


def test_another_schools_file_is_404_to_download(district, client_for, school, task_a):
    item = school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").json()
    assert client_for(district.school_b_user).get(f"/api/v1/evidence/{item['id']}/download/").status_code == 404
    assert client_for(district.other_supervisor).get(f"/api/v1/evidence/{item['id']}/download/").status_code == 404


def test_evidence_files_are_not_served_as_static_or_media(school, task_a, client_for, district):
    item = school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").json()
    stored = m.Evidence.objects.get(pk=item["id"]).stored_name
    for url in (
        f"/media/evidence/{stored[:2]}/{stored}",
        f"/static/evidence/{stored[:2]}/{stored}",
        f"/evidence/{stored}",
    ):
        assert client_for(district.supervisor).get(url).status_code == 404


def test_a_file_missing_from_storage_is_404_not_500(district, client_for, task_a):
    item = EvidenceFactory(task=task_a)  # a row whose bytes were never stored
    assert client_for(district.supervisor).get(f"/api/v1/evidence/{item.pk}/download/").status_code == 404


def test_the_list_shows_the_tasks_evidence_and_the_count_on_the_task(school, task_a):
    for kind in ("pdf", "png"):
        assert school.post(_url(task_a), {"file": upload(kind)}, format="multipart").status_code == 201
    listed = school.get(_url(task_a)).json()
    assert [e["content_type"] for e in listed] == ["application/pdf", "image/png"]
    assert school.get(f"/api/v1/tasks/{task_a.pk}/").json()["evidence_count"] == 2


# --- when uploading and deleting is allowed --------------------------------------------------------
@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_upload_to_a_submitted_or_approved_task_is_409(district, school, task_a, status):
    EvidenceFactory(task=task_a)
    task_services.task_submit(task=task_a, actor=district.school_a_user)
    if status == "approved":
        task_services.task_approve(task=task_a, actor=district.supervisor, deductions=[])
    response = school.post(_url(task_a), {"file": upload("pdf")}, format="multipart")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert response.json()["status"] == status
    assert m.Evidence.objects.filter(task=task_a).count() == 1


def test_upload_to_a_returned_task_is_allowed(district, school, task_a):
    EvidenceFactory(task=task_a)
    task_services.task_submit(task=task_a, actor=district.school_a_user)
    task_services.task_return(task=task_a, actor=district.supervisor, reason="more")
    assert school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").status_code == 201


def test_school_deletes_its_evidence_before_submitting_and_the_file_goes(
    district, school, task_a, django_capture_on_commit_callbacks
):
    item = school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").json()
    path = evidence_path(m.Evidence.objects.get(pk=item["id"]))
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = school.delete(f"/api/v1/evidence/{item['id']}/")
    assert response.status_code == 204
    assert not m.Evidence.objects.filter(pk=item["id"]).exists()
    assert not path.exists()
    event = m.Event.objects.get(type="evidence.deleted")
    assert event.data["sha256"] == item["sha256"]


def test_evidence_cannot_be_deleted_after_submitting(district, school, task_a):
    item = school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").json()
    task_services.task_submit(task=task_a, actor=district.school_a_user)
    response = school.delete(f"/api/v1/evidence/{item['id']}/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert m.Evidence.objects.filter(pk=item["id"]).exists()
    assert evidence_path(m.Evidence.objects.get(pk=item["id"])).exists()


def test_deleting_below_min_evidence_makes_submit_refused_again(district, school, task_a):
    item = school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").json()
    school.delete(f"/api/v1/evidence/{item['id']}/")
    response = school.post(f"/api/v1/tasks/{task_a.pk}/submit/")
    assert response.status_code == 409
    assert response.json()["code"] == "evidence_required"


def test_other_roles_and_schools_cannot_delete(district, client_for, school, task_a):
    item = school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").json()
    url = f"/api/v1/evidence/{item['id']}/"
    assert client_for(district.school_b_user).delete(url).status_code == 404
    assert client_for(district.other_supervisor).delete(url).status_code == 404
    assert client_for(district.supervisor).delete(url).status_code == 403
    assert client_for(district.inspector).delete(url).status_code == 403
    assert m.Evidence.objects.filter(pk=item["id"]).exists()


@pytest.mark.parametrize("declared", ["abc", "-1", ""])
def test_a_malformed_declared_length_is_judged_by_the_body_not_a_crash(school, task_a, declared):
    response = school.generic(
        "POST", _url(task_a), b"--b\r\n", content_type="multipart/form-data; boundary=b", CONTENT_LENGTH=declared
    )
    assert 400 <= response.status_code < 500
