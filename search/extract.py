"""The words inside a stored file, for the index: PDF, DOCX, XLSX, CSV; recordings by metadata only.

Each extractor reads from a spooled file (never the whole blob in memory: DOCX and XLSX parts are
streamed through a pull parser with a byte cap, see below), stops at `MAX_CHARS`, and never raises
on a damaged file: a plan whose text cannot be read is still found by its title and metadata, and
the reason is logged. Files above `MAX_BYTES` are not opened (a 2 GB recording has no text; an
oversized spreadsheet would cost more than it gives).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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

    with open(path, "rb") as f:  # read object by object from the file, never the whole file into memory
        reader = PdfReader(f)
        if reader.is_encrypted:
            return
        for page in reader.pages:
            yield page.extract_text() or ""


# -- OOXML: streamed, not loaded ----------------------------------------------------------------
# python-docx and openpyxl build the whole part in memory (openpyxl's read-only mode still loads
# every shared string): an 88 KB DOCX with a 60 MB document.xml took the server from 414 MB to
# 1.78 GB. Here each XML part is read through a pull parser fed 64 KiB at a time, each element is
# dropped once its end is seen, at most MAX_XML_BYTES of a part are read, and the caller stops at
# MAX_CHARS: memory stays at a chunk, one element's text and the characters kept.
MAX_XML_BYTES = 16 * 1024 * 1024  # 200,000 characters of text are ~4 MB of WordprocessingML
_XML_CHUNK = 64 * 1024
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _events(zf: zipfile.ZipFile, name: str) -> Iterator[tuple[str, Any]]:
    """(event, element) of one XML part, read in chunks; an element is cleared once the caller has it."""
    from lxml import etree

    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False)
    read = 0
    with zf.open(name) as member:
        while read < MAX_XML_BYTES and (chunk := member.read(min(_XML_CHUNK, MAX_XML_BYTES - read))):
            read += len(chunk)
            parser.feed(chunk)
            for event, element in parser.read_events():
                yield event, element
                if event == "end":  # done with it: drop it, and the siblings before it
                    element.clear()
                    parent = element.getparent()
                    while parent is not None and element.getprevious() is not None:
                        del parent[0]


def _docx(path: Path) -> Iterator[str]:
    """Paragraphs in order; a table row as its cells joined by ' | ' (as python-docx gave them)."""
    with zipfile.ZipFile(path) as zf:
        words: list[str] = []  # of the paragraph being read
        rows: list[list[str]] = []  # the rows being read (a stack: tables nest)
        cells: list[list[str]] = []  # the cells being read, each a list of paragraphs
        for event, element in _events(zf, "word/document.xml"):
            tag = element.tag
            if event == "start":
                if tag == f"{_W}tr":
                    rows.append([])
                elif tag == f"{_W}tc":
                    cells.append([])
                continue
            if tag == f"{_W}t":
                words.append(element.text or "")
            elif tag in (f"{_W}tab", f"{_W}br"):
                words.append(" ")
            elif tag == f"{_W}p":
                text, words = "".join(words), []
                if cells:
                    cells[-1].append(text)
                else:
                    yield text
            elif tag == f"{_W}tc" and cells:
                cell = " ".join(p for p in cells.pop() if p)
                if rows:
                    rows[-1].append(cell)
            elif tag == f"{_W}tr" and rows:
                row = " | ".join(rows.pop())
                if cells:  # a nested table's row: part of the outer cell
                    cells[-1].append(row)
                else:
                    yield row


def _xlsx(path: Path) -> Iterator[str]:
    """Each sheet's name, then its rows as non-empty cells joined by ' | ' (as openpyxl gave them)."""
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        strings = _shared_strings(zf) if "xl/sharedStrings.xml" in names else []
        for title, part in _sheets(zf, names):
            yield title
            if part in names:
                yield from _rows(zf, part, strings)


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    """The workbook's shared strings, kept until MAX_CHARS characters (later ones read as empty)."""
    strings: list[str] = []
    parts: list[str] = []
    kept = 0
    for event, element in _events(zf, "xl/sharedStrings.xml"):
        if event == "end" and element.tag == f"{_S}t" and kept < MAX_CHARS:
            parts.append(element.text or "")
        elif event == "end" and element.tag == f"{_S}si":
            text, parts = "".join(parts), []
            kept += len(text)
            strings.append(text)
    return strings


def _sheets(zf: zipfile.ZipFile, names: set[str]) -> list[tuple[str, str]]:
    """(title, part name) of each sheet in workbook order."""
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        for event, element in _events(zf, "xl/_rels/workbook.xml.rels"):
            if event == "end" and element.tag == f"{_PKG_REL}Relationship":
                target = element.get("Target", "")
                targets[element.get("Id", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    sheets = []
    for event, element in _events(zf, "xl/workbook.xml"):
        if event == "end" and element.tag == f"{_S}sheet":
            sheets.append((element.get("name", ""), targets.get(element.get(f"{_REL}id", ""), "")))
    return sheets


def _rows(zf: zipfile.ZipFile, part: str, strings: list[str]) -> Iterator[str]:
    """Read at the leaves (<v>, <t>): each element is dropped at its end, so a parent has no children left."""
    cells: list[str] = []
    kind, value = None, ""
    for event, element in _events(zf, part):
        tag = element.tag
        if event == "start":
            if tag == f"{_S}c":
                kind, value = element.get("t"), ""
            continue
        if tag in (f"{_S}v", f"{_S}t"):
            value += element.text or ""
        elif tag == f"{_S}c":
            if kind == "s":
                index = int(value) if value.isdigit() else -1
                value = strings[index] if 0 <= index < len(strings) else ""
            elif kind == "b":
                value = "TRUE" if value == "1" else "FALSE"
            if value.strip():
                cells.append(value)
        elif tag == f"{_S}row":
            if cells:
                yield " | ".join(cells)
            cells = []


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
