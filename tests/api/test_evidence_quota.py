"""Evidence quotas (CONTRACT section 4, v2): files per task (EVIDENCE_MAX_FILES_PER_TASK, default 20: the
next upload is refused with 409 evidence_limit) and bytes per school (EVIDENCE_MAX_BYTES_PER_SCHOOL: 409
school_storage_full). Nothing of a refused upload is kept, on disk or in the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from config.settings import base
from tests.samples import pdf_bytes, upload
from tracker import models as m

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def _url(task: m.Task) -> str:
    return f"/api/v1/tasks/{task.pk}/evidence/"


def stored_files() -> int:
    return sum(1 for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file())


def test_the_default_is_twenty_files_per_task():
    assert base.EVIDENCE_MAX_FILES_PER_TASK == 20
    assert base.EVIDENCE_MAX_BYTES_PER_SCHOOL >= 20 * base.EVIDENCE_MAX_BYTES


def test_the_upload_after_the_last_allowed_file_is_409_evidence_limit(district, client_for, task_a, settings):
    settings.EVIDENCE_MAX_FILES_PER_TASK = 3
    school = client_for(district.school_a_user)
    for _ in range(3):
        assert school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").status_code == 201
    files, rows, events = stored_files(), m.Evidence.objects.count(), m.Event.objects.count()

    refused = school.post(_url(task_a), {"file": upload("pdf")}, format="multipart")

    assert refused.status_code == 409
    assert refused.json()["code"] == "evidence_limit"
    assert (stored_files(), m.Evidence.objects.count(), m.Event.objects.count()) == (files, rows, events)
    # Deleting one makes room again; another task of the school is not affected.
    first = m.Evidence.objects.filter(task=task_a).first()
    assert school.delete(f"/api/v1/evidence/{first.pk}/").status_code == 204
    assert school.post(_url(task_a), {"file": upload("pdf")}, format="multipart").status_code == 201


def test_a_school_cannot_store_more_bytes_than_its_quota(district, client_for, task_a, settings):
    body = pdf_bytes("x" * 1000)

    def pdf():
        return SimpleUploadedFile("minutes.pdf", body, content_type="application/pdf")

    settings.EVIDENCE_MAX_BYTES_PER_SCHOOL = 2 * len(body) + 10
    school = client_for(district.school_a_user)
    other_task = m.Task.objects.create(
        cycle=district.cycle,
        criterion=m.Criterion.objects.create(
            cycle=district.cycle, code="Q2", title="t", category="c", due_at=district.criterion.due_at, max_score=5
        ),
        school=district.school_a,
        due_at=district.criterion.due_at,
        original_due_at=district.criterion.due_at,
        due_set_at=district.cycle.activated_at,
    )
    assert school.post(_url(task_a), {"file": pdf()}, format="multipart").status_code == 201
    assert school.post(_url(other_task), {"file": pdf()}, format="multipart").status_code == 201
    files = stored_files()

    refused = school.post(_url(task_a), {"file": pdf()}, format="multipart")

    assert refused.status_code == 409
    assert refused.json()["code"] == "school_storage_full"
    assert refused.json()["limit"] == settings.EVIDENCE_MAX_BYTES_PER_SCHOOL
    assert stored_files() == files
    # Another school's quota is its own.
    task_b = m.Task.objects.get(school=district.school_b, criterion=district.criterion)
    other = client_for(district.school_b_user).post(_url(task_b), {"file": pdf()}, format="multipart")
    assert other.status_code == 201
