"""Evidence files of a task: stored under a random name, hashed, typed by content, never after submission."""

from __future__ import annotations

import hashlib
import os
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.audit.types import Actor, EventType
from tracker.errors import (
    EvidenceLimit,
    EvidenceQuotaExceeded,
    FileTooLarge,
    InvalidState,
    SchoolStorageFull,
    UnsupportedFileType,
)
from tracker.org.models import Unit

from .filetypes import CONTENT_TYPES, EXTENSIONS, sniff
from .models import Evidence, Task
from .rules import is_open
from .task_events import task_event_record
from .texts import status_label

CHUNK = 64 * 1024


def evidence_path(evidence: Evidence) -> Path:
    """Where the bytes live: a random name under MEDIA_ROOT, never derived from user input."""
    return Path(settings.MEDIA_ROOT) / "evidence" / evidence.stored_name[:2] / evidence.stored_name


def display_filename(name: str, kind: str) -> str:
    """A name safe to show and to put in Content-Disposition: no paths, controls or double extensions."""
    base = os.path.basename(name.replace("\\", "/"))  # noqa: PTH119 - "a/b/" must give "", as os.path does
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    stem = base.split(".")[0][:100] or "evidence"
    return stem + EXTENSIONS[kind]


def _too_large() -> str:
    return _("The file is too large: the limit is %(limit)s.") % {"limit": filesizeformat(settings.EVIDENCE_MAX_BYTES)}


def _evidence_closed(task: Task) -> str:
    return _("Evidence can be changed only before the task is submitted (its status is %(status)s).") % {
        "status": status_label(task.status)
    }


def _touch(task: Task, now: datetime) -> None:
    """An upload or a deletion is activity on the task (the row the caller holds locked)."""
    task.last_activity_at = now
    task.save(update_fields=["last_activity_at", "updated_at"])


def _quota_check(task: Task, size: int) -> None:
    """Refuse a file beyond the task's file count or the school's storage (the caller holds the task row).

    Files per task are counted under the task's lock. The school's bytes are counted under a lock on the
    school's row, held to the end of the upload's transaction: two uploads to two of its tasks at the same
    moment are judged one after the other, so the second sees the first's bytes (FOR NO KEY UPDATE, so rows
    that merely reference the school, as new tasks do, are not held up).
    """
    files = Evidence.objects.filter(task=task).count()
    if files >= settings.EVIDENCE_MAX_FILES_PER_TASK:
        raise EvidenceLimit(
            f"a task holds at most {settings.EVIDENCE_MAX_FILES_PER_TASK} evidence files; delete one first",
            limit=settings.EVIDENCE_MAX_FILES_PER_TASK,
            have=files,
        )
    list(Unit.objects.select_for_update(no_key=True).filter(pk=task.school_id).values_list("pk", flat=True))
    used = Evidence.objects.filter(task__school_id=task.school_id).aggregate(total=Sum("size"))["total"] or 0
    if used + size > settings.EVIDENCE_MAX_BYTES_PER_SCHOOL:
        raise SchoolStorageFull(
            f"the school's evidence would take {used + size} bytes; it may store "
            f"{settings.EVIDENCE_MAX_BYTES_PER_SCHOOL} (it holds {used})",
            limit=settings.EVIDENCE_MAX_BYTES_PER_SCHOOL,
            used=used,
        )


@transaction.atomic
def evidence_add(
    *, task: Task | int, actor: Actor, file: IO[bytes], filename: str, size: int, now: datetime | None = None
) -> Evidence:
    """Store an uploaded file for a task that has not been submitted yet."""
    now = now or timezone.now()
    if size > settings.EVIDENCE_MAX_BYTES:
        raise FileTooLarge(_too_large())
    kind = sniff(file)
    if kind is None or kind not in settings.EVIDENCE_ALLOWED_TYPES:
        allowed = ", ".join(kind.upper() for kind in settings.EVIDENCE_ALLOWED_TYPES)
        raise UnsupportedFileType(
            _("This type of file is not accepted. Upload one of: %(types)s.") % {"types": allowed}
        )
    pk = task if isinstance(task, int) else task.pk
    task = Task.objects.select_for_update(of=("self",)).select_related("cycle", "school").get(pk=pk)
    if not is_open(task.status):
        raise InvalidState(_evidence_closed(task), status=task.status)
    _quota_check(task, size)
    evidence = Evidence(
        task=task,
        filename=display_filename(filename, kind),
        content_type=CONTENT_TYPES[kind],
        uploaded_by=actor,
        uploaded_at=now,
        size=0,
        sha256="",
    )
    path = evidence_path(evidence)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    file.seek(0)
    with path.open("xb") as out:
        while chunk := file.read(CHUNK):
            written += len(chunk)
            if written > settings.EVIDENCE_MAX_BYTES:
                out.close()
                path.unlink(missing_ok=True)
                raise FileTooLarge(_too_large())
            digest.update(chunk)
            out.write(chunk)
    evidence.size = written
    evidence.sha256 = digest.hexdigest()
    if written != size:
        try:
            _quota_check(task, written)
        except EvidenceQuotaExceeded:
            path.unlink(missing_ok=True)
            raise
    try:
        evidence.save()
        _touch(task, now)
        task_event_record(
            task,
            type=EventType.EVIDENCE_UPLOADED,
            subject=evidence,
            actor=actor,
            now=now,
            data={
                "filename": evidence.filename,
                "size": written,
                "sha256": evidence.sha256,
                "content_type": evidence.content_type,
            },
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return evidence


@transaction.atomic
def evidence_delete(*, evidence: Evidence, actor: Actor, now: datetime | None = None) -> None:
    now = now or timezone.now()
    task = Task.objects.select_for_update(of=("self",)).select_related("cycle", "school").get(pk=evidence.task_id)
    if not is_open(task.status):
        raise InvalidState(_evidence_closed(task), status=task.status)
    path = evidence_path(evidence)
    data = {"filename": evidence.filename, "sha256": evidence.sha256, "evidence": evidence.pk}
    _touch(task, now)
    task_event_record(task, type=EventType.EVIDENCE_DELETED, subject=evidence, actor=actor, now=now, data=data)
    evidence.delete()
    transaction.on_commit(lambda: path.unlink(missing_ok=True))
