"""The demo's evidence files: tiny PDFs made in code."""

from __future__ import annotations

import io


def demo_pdf(title: str) -> io.BytesIO:
    body = f"Qinglian demo evidence: {title}".encode()
    return io.BytesIO(b"%PDF-1.4\n% demo\n1 0 obj << /Type /Catalog >> endobj\n" + body + b"\n%%EOF\n")
