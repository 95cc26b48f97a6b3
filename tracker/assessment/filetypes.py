"""Evidence file types, judged from the bytes, never from the name or the declared header."""

from __future__ import annotations

import zipfile
from typing import IO

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXTENSIONS = {"pdf": ".pdf", "png": ".png", "jpeg": ".jpg", "docx": ".docx", "xlsx": ".xlsx"}

# Markup that a browser could run if the file were ever rendered inline: refused even inside an
# otherwise valid header (polyglots such as a PDF that is also an HTML page).
_ACTIVE_MARKERS = (b"<script", b"<html", b"<svg", b"<!doctype html", b"<iframe", b"javascript:", b"<?php")


def sniff(stream: IO[bytes]) -> str | None:
    """The kind of file ('pdf', 'png', ...) or None when it is none of the known kinds."""
    stream.seek(0)
    head = stream.read(8192)
    stream.seek(0)
    lowered = head.lower()
    if any(marker in lowered for marker in _ACTIVE_MARKERS):
        return None
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_ooxml(stream)
    return None


def _sniff_ooxml(stream: IO[bytes]) -> str | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        stream.seek(0)
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None
