"""The words inside a stored file, for the index: PDF, DOCX, XLSX, CSV; recordings by metadata only.

Each extractor reads from a spooled file (never the whole blob in memory for large files), stops
at `MAX_CHARS`, and never raises on a damaged file: a plan whose text cannot be read is still
found by its title and metadata, and the reason is logged. Files above `MAX_BYTES` are not opened
(a 2 GB recording has no text; an oversized spreadsheet would cost more than it gives).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from archive import mediatype
from search import analyzer

log = logging.getLogger(__name__)
MAX_CHARS = 200_000
MAX_BYTES = 64 * 1024 * 1024
SPACES = re.compile(r"[ \t\r\f\v]+")


def extract_text(path: Path, media_type: str, limit: int = MAX_CHARS) -> str:
    """The text of one file, NFC, whitespace tidied, at most `limit` characters ('' when there is none)."""
    reader = _READERS.get(media_type)
    if reader is None or path.stat().st_size > MAX_BYTES:
        return ""
    parts: list[str] = []
    size = 0
    try:
        for piece in reader(path):
            piece = SPACES.sub(" ", analyzer.normalize(piece)).strip()
            if not piece:
                continue
            parts.append(piece)
            size += len(piece) + 1
            if size >= limit:
                break
    except Exception as e:  # a damaged file: index what we have, say why in the log
        log.warning("text extraction from %s (%s) stopped: %r", path.name, media_type, e)
    return "\n".join(parts)[:limit]


def _pdf(path: Path) -> Iterator[str]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        return
    for page in reader.pages:
        yield page.extract_text() or ""


def _docx(path: Path) -> Iterator[str]:
    import docx

    document = docx.Document(str(path))
    for paragraph in document.paragraphs:
        yield paragraph.text
    for table in document.tables:
        for row in table.rows:
            yield " | ".join(cell.text for cell in row.cells)


def _xlsx(path: Path) -> Iterator[str]:
    from openpyxl import load_workbook

    book = load_workbook(str(path), read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            yield sheet.title
            for row in sheet.iter_rows(values_only=True):
                cells = [str(v) for v in row if v is not None and str(v).strip()]
                if cells:
                    yield " | ".join(cells)
    finally:
        book.close()


def _csv(path: Path) -> Iterator[str]:
    with open(path, "rb") as f:
        raw = f.read(MAX_CHARS * 4)  # enough for MAX_CHARS characters of UTF-8; never the whole file
    for encoding in ("utf-8-sig", "cp1258"):  # UTF-8, else the Vietnamese Windows code page of old exports
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = raw.decode("latin-1")
    for row in csv.reader(io.StringIO(text)):
        yield " | ".join(cell for cell in row if cell.strip())


_READERS: dict[str, Callable[[Path], Iterator[str]]] = {
    mediatype.PDF: _pdf,
    mediatype.DOCX: _docx,
    mediatype.XLSX: _xlsx,
    mediatype.CSV: _csv,
}
READABLE = frozenset(_READERS)


def video_seconds(path: Path) -> float | None:
    """A recording's duration by ffprobe when it is installed (metadata for the index; None otherwise)."""
    tool = shutil.which("ffprobe")
    if tool is None:
        return None
    try:
        out = subprocess.run(
            [tool, "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
        return float(json.loads(out)["format"]["duration"])
    except (ValueError, KeyError, TypeError, subprocess.TimeoutExpired):
        return None
