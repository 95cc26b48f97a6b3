"""Small but real files of each evidence type, built in code (no binary fixtures in the tree)."""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile


def pdf_bytes(text: str = "Minutes of the clean-school meeting") -> bytes:
    """A one-page PDF 1.4 with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int = 2, height: int = 2, *, noise: bool = False) -> bytes:
    """An 8-bit RGB PNG; with noise=True the pixels are pseudo-random so the file does not compress."""
    rows = []
    seed = 12345
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            if noise:
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                row += (seed & 0xFFFFFF).to_bytes(3, "big")
            else:
                row += bytes([(x * 40) % 256, (y * 40) % 256, 128])
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A baseline JPEG of one 8x8 grey block: one DC and one AC Huffman code, each a single bit."""
    soi = b"\xff\xd8"
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes([1] * 64)
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
    one_code = bytes([1] + [0] * 15)  # one code of length 1 ...
    dht_dc = b"\xff\xc4" + struct.pack(">H", 20) + b"\x00" + one_code + b"\x00"  # ... DC category 0
    dht_ac = b"\xff\xc4" + struct.pack(">H", 20) + b"\x10" + one_code + b"\x00"  # ... AC end of block
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x3f\x00"
    scan = b"\x3f"  # DC diff 0 ('0'), EOB ('0'), padded with ones
    return soi + app0 + dqt + sof0 + dht_dc + dht_ac + sos + scan + b"\xff\xd9"


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed time: writestr(name) stamps the current second, so two calls a second
    apart would give different bytes for the same sample."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            _entry("[Content_Types].xml"),
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        archive.writestr(
            _entry("_rels/.rels"),
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/></Relationships>',
        )
        archive.writestr(
            _entry("word/document.xml"),
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>廉洁校园建设自查报告</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


@functools.cache  # openpyxl stamps the time of saving: one workbook per test run, the same bytes each call
def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["school", "score"])
    sheet.append(["School A", 9.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


SAMPLES = {
    "pdf": (pdf_bytes, "report.pdf", "application/pdf"),
    "png": (png_bytes, "photo.png", "image/png"),
    "jpeg": (jpeg_bytes, "photo.jpg", "image/jpeg"),
    "docx": (docx_bytes, "report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": (xlsx_bytes, "table.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def upload(kind: str = "png", name: str | None = None, content_type: str | None = None) -> SimpleUploadedFile:
    build, default_name, default_type = SAMPLES[kind]
    return SimpleUploadedFile(name or default_name, build(), content_type=content_type or default_type)
