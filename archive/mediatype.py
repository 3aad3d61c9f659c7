"""Find a file's real type from its bytes, never from its name or the browser's claim.

A hand-written sniffer rather than libmagic: the formats a school archive accepts are few and
their signatures are fixed by their standards, OOXML (DOCX/XLSX) must be told apart by looking
inside the ZIP (libmagic guesses from the first entry's name), and CSV has no signature at all.
Anything not recognised is `application/octet-stream`, which no record type allows. The sniffer only
names a type; `archive/pdfcheck.py` and `archive/ooxmlcheck.py` then check, before anything is
stored, that a file of that type is a real document.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

from archive import ooxmlcheck

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
MP4 = "video/mp4"
MOV = "video/quicktime"
WEBM = "video/webm"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"  # a flatbed scanner's usual output (TT 05/2025 Điều 8 lists it for photos)
UNKNOWN = "application/octet-stream"

LABELS = {
    PDF: "PDF",
    DOCX: "Word (DOCX)",
    XLSX: "Excel (XLSX)",
    CSV: "CSV",
    MP4: "MP4",
    MOV: "QuickTime (MOV)",
    WEBM: "WebM",
    PNG: "PNG",
    JPEG: "JPEG",
    TIFF: "TIFF",
}

EXTENSIONS = {
    PDF: ".pdf",
    DOCX: ".docx",
    XLSX: ".xlsx",
    CSV: ".csv",
    MP4: ".mp4",
    MOV: ".mov",
    WEBM: ".webm",
    PNG: ".png",
    JPEG: ".jpg",
    TIFF: ".tif",
}

HEAD_BYTES = 64 * 1024
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def describe(media_type: str) -> str:
    return LABELS.get(media_type, media_type)


def sniff(head: bytes, path: Path | None = None) -> str:
    """The media type of a file whose first bytes are `head`; `path` lets ZIPs be opened."""
    if head.startswith(b"%PDF-"):  # at the start: an EXE or a web page with a %PDF- line is not a PDF
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return MOV if head[8:12] == b"qt  " else MP4
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS:
        return MOV
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM if b"webm" in head[:64] else UNKNOWN
    if head.startswith(b"PK\x03\x04") and path is not None:
        return _sniff_ooxml(path)
    if _looks_like_csv(head):
        return CSV
    return UNKNOWN


def _sniff_ooxml(path: Path) -> str:
    if not ooxmlcheck.directory_fits(path):  # before zipfile reads a directory of millions of entries
        return UNKNOWN
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return UNKNOWN
    if "[Content_Types].xml" not in names:
        return UNKNOWN
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return UNKNOWN


def _looks_like_csv(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a character cut at the end of the sample is fine
            return False
        text = head[: exc.start].decode("utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(head) >= HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    if not lines or any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=",;\t")
    except csv.Error:
        return False
    widths = {len(row) for row in csv.reader(lines[:50], dialect)}
    return len(widths) == 1 and widths.pop() > 1
