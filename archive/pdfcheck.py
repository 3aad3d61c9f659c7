"""Is this upload a PDF a reader opens, that hoso can index and sign? Checked before a byte is stored.

The sniffer only says a file starts with `%PDF-`; a truncated file, `%PDF-` and zeros, or a script
behind a PDF header all pass that. Here the file is read by a real parser, from the spooled temp
file (never loaded whole into memory), and refused when:

- it does not parse as a PDF with at least one page whose content resolves (truncated, damaged,
  or not a PDF at all);
- its end is not a PDF's end (`%%EOF` within the last KiB, as readers look for it): a file cut
  short in transfer is refused, not "repaired" into fewer pages than the teacher sent;
- its cross-reference table is broken (offsets that do not point at their objects, as after a
  CRLF conversion): pypdf would scan, and hold, the whole file to guess where the objects are, and
  pyHanko, which signs the plan at the month's end, cannot open such a file even when not strict
  (measured here: "Could not find xref table"), so accepting it would only move the refusal to the
  principal's signing run, a month later;
- it is encrypted: nobody can index it, and a principal cannot sign it without the owner's password;
- it carries active content (JavaScript anywhere an action can stand, a Launch action that starts a
  program, an XFA form — whose XML carries its own scripts, outside every /JS key — or embedded
  rich media): refused, not neutralised. The original is what hoso preserves, hashes and signs, so
  it never rewrites a teacher's file behind her back; she exports it again without the script;
- it carries other files inside (the EmbeddedFiles name tree, file-attachment annotations): a
  record is the document itself. What rides inside is never indexed, rendered, checked for
  macros or shown beside the signature that covers it, and PDF/A-2 — the archival form TT 05/2025
  asks for — forbids such attachments; the teacher uploads the attachment as its own record.

The parser is pypdf rather than pypdfium2 (both are dependencies): pypdf is pure Python, so a
hostile file can make it raise but never crash the server's process, it reads lazily from a file
handle (seek and read, object by object), it exposes the document's dictionaries so the action
check reads the very keys a reader would run (OpenAction, AA, the JavaScript name tree, annotation
and outline actions) where PDFium's public API exposes only part of them, and it is the parser the
indexer extracts text with, so what is accepted here is what the index can read. Its own limits
(75 MB per decoded stream, 100,000 items per array or dictionary) bound the objects it decodes;
this module bounds the pages and the objects the action walk visits.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archive.exceptions import UnsupportedMediaType

log = logging.getLogger(__name__)

MAX_PAGES = 10_000  # a scanned register of a whole school year is a few hundred pages
MAX_WALKED = 200_000  # action-bearing dictionaries visited (pages, annotations, fields, outline items)
TAIL_BYTES = 1024  # Acrobat looks for %%EOF in the last 1024 bytes; so do we
_EOF = re.compile(rb"%%EOF")

_EXPORT_VI = "Hãy mở tệp gốc và xuất (lưu) lại thành PDF rồi tải lên lần nữa."
_EXPORT_EN = "Open the original and export (save) it as PDF again, then upload it again."


# What runs by itself, as the refusal names it (keys are what _active_content finds).
_ACTIVE = {
    "JavaScript": ("JavaScript", "JavaScript"),
    "Launch": ("lệnh mở một chương trình khác", "an action that starts another program"),
    "XFA": ("biểu mẫu động XFA", "a dynamic XFA form"),
    "RichMedia": ("nội dung đa phương tiện nhúng", "embedded rich media"),
}
_ATTACHED = "attachment"


class _NeedsRepair(Exception):
    """pypdf was about to rebuild a broken cross-reference table by reading the whole file."""


class _TooManyObjects(Exception):
    """The action walk passed MAX_WALKED dictionaries."""


@functools.cache
def _reader_class() -> Any:
    """pypdf's reader, except that a broken cross-reference table is refused, not rebuilt."""
    from pypdf import PdfReader

    class _StrictXrefReader(PdfReader):
        def _rebuild_xref_table(self, stream: Any) -> None:
            raise _NeedsRepair

    return _StrictXrefReader


def _refuse(name: str, vi: str, en: str, reason: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Tệp {name!r} không dùng được: {vi}", f"The file {name!r} cannot be accepted: {en}", reason=reason
    )


def _damaged(name: str) -> UnsupportedMediaType:
    return _refuse(
        name,
        f"đây không phải tệp PDF hoàn chỉnh (có thể bị cắt ngắn khi tải lên hoặc bị hỏng). {_EXPORT_VI}",
        f"it is not a complete PDF (it may have been cut short while uploading, or be damaged). {_EXPORT_EN}",
        "damaged",
    )


def check(path: Path, name: str) -> int:
    """The number of pages of the PDF at `path`, or UnsupportedMediaType saying why it is refused."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - TAIL_BYTES))
        if not _EOF.search(f.read(TAIL_BYTES)):
            raise _damaged(name)
        f.seek(0)
        try:
            reader = _reader_class()(f, strict=False)
            encrypted = reader.is_encrypted
        except _NeedsRepair:
            raise _damaged(name) from None
        except Exception as exc:  # pypdf raises many kinds on a damaged file; all mean "not a PDF"
            log.info("refused %s: pypdf could not open it: %r", name, exc)
            raise _damaged(name) from None
        if encrypted:
            raise _refuse(
                name,
                "tệp PDF có mật khẩu hoặc bị mã hóa, nên không thể tìm kiếm nội dung hay ký số. "
                "Hãy lưu lại bản không đặt mật khẩu rồi tải lên.",
                "the PDF is password-protected or encrypted, so it can be neither searched nor signed. "
                "Save a copy without a password and upload that.",
                "encrypted",
            )
        try:
            pages = _pages(reader, name)
            found = _active_content(reader, pages)
        except UnsupportedMediaType:
            raise
        except _NeedsRepair:
            raise _damaged(name) from None
        except _TooManyObjects:
            raise _refuse(
                name,
                f"tệp PDF có quá nhiều chú thích, trường biểu mẫu hay dấu trang (trên {MAX_WALKED:,}). {_EXPORT_VI}",
                f"the PDF has too many annotations, form fields or bookmarks (over {MAX_WALKED:,}). {_EXPORT_EN}",
                "too_complex",
            ) from None
        except Exception as exc:
            log.info("refused %s: pypdf failed while reading it: %r", name, exc)
            raise _damaged(name) from None
    if found == _ATTACHED:
        raise _refuse(
            name,
            "tệp PDF có tệp khác đính kèm bên trong. Hồ sơ lưu trữ chỉ giữ chính tài liệu: hãy xuất lại PDF "
            "không kèm tệp, và tải tệp đính kèm lên thành một hồ sơ riêng.",
            "the PDF carries other files inside it. An archived record keeps the document itself: export the "
            "PDF again without attachments, and upload the attached file as a record of its own.",
            "attachment",
        )
    if found:
        vi, en = _ACTIVE[found]
        raise _refuse(
            name,
            f"tệp PDF chứa mã lệnh tự chạy ({vi}). Hồ sơ lưu trữ phải là tài liệu tĩnh. {_EXPORT_VI}",
            f"the PDF contains content that runs by itself ({en}). An archived record must be a static "
            f"document. {_EXPORT_EN}",
            "active_content",
        )
    return len(pages)


def _pages(reader: Any, name: str) -> list[Any]:
    from pypdf.generic import ArrayObject, StreamObject

    declared = _get(_get(reader.trailer["/Root"].get_object(), "/Pages"), "/Count")
    count = declared if isinstance(declared, int) and declared > MAX_PAGES else len(reader.pages)  # before the walk
    if count == 0:
        raise _damaged(name)
    if count > MAX_PAGES:
        raise _refuse(
            name,
            f"tệp PDF có {count} trang, quá giới hạn {MAX_PAGES} trang của một tài liệu. Hãy tách thành nhiều tệp.",
            f"the PDF has {count} pages, over the {MAX_PAGES}-page limit for one record. Split it into several files.",
            "too_many_pages",
        )
    pages = []
    for page in reader.pages:
        contents = page.get("/Contents")  # absent is a blank page; present, it must resolve to streams
        if contents is not None:
            contents = contents.get_object()
            parts = contents if isinstance(contents, ArrayObject) else [contents]
            if not all(isinstance(part.get_object(), StreamObject) for part in parts):
                raise _damaged(name)
        pages.append(page)
    return pages


def _active_content(reader: Any, pages: list[Any]) -> str:
    """What runs by itself in this PDF (a key of _ACTIVE), _ATTACHED for files inside it, '' for neither."""
    root = reader.trailer["/Root"].get_object()
    names = _get(root, "/Names")
    if names is not None and _get(names, "/JavaScript") is not None:
        return "JavaScript"
    if _get(_get(root, "/AcroForm"), "/XFA") is not None:
        return "XFA"
    if names is not None and _get(names, "/EmbeddedFiles") is not None:
        return _ATTACHED
    budget = [MAX_WALKED]
    for holder in _holders(root, pages, budget):
        subtype = _get(holder, "/Subtype")
        if subtype == "/RichMedia":
            return "RichMedia"
        if subtype == "/FileAttachment":
            return _ATTACHED
        actions = [_get(holder, "/A")]
        if holder is root and isinstance(_get(root, "/OpenAction"), dict):  # an array there is a destination
            actions.append(_get(root, "/OpenAction"))
        triggers = _get(holder, "/AA")
        if isinstance(triggers, dict):
            actions += [trigger.get_object() for trigger in triggers.values()]
        for action in actions:
            if found := _action(action, budget, set()):
                return found
    return ""


def _get(obj: Any, key: str) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value.get_object() if value is not None else None


def _spend(budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooManyObjects


def _holders(root: Any, pages: list[Any], budget: list[int]) -> Iterator[Any]:
    """Every dictionary that may carry an action: the catalog, pages, annotations, form fields, bookmarks."""
    yield root
    for page in pages:
        _spend(budget)
        yield page
        for annotation in _get(page, "/Annots") or []:
            _spend(budget)
            yield annotation.get_object()
    fields = list(_get(_get(root, "/AcroForm"), "/Fields") or [])
    seen: set[int] = set()
    while fields:
        field = fields.pop().get_object()
        if id(field) in seen or not isinstance(field, dict):
            continue
        seen.add(id(field))
        _spend(budget)
        yield field
        fields.extend(_get(field, "/Kids") or [])
    outline = _get(_get(root, "/Outlines"), "/First")
    stack, visited = ([outline] if outline is not None else []), set()
    while stack:
        item = stack.pop()
        key = getattr(item, "indirect_reference", None)
        marker = (key.idnum, key.generation) if key is not None else id(item)
        if marker in visited or not isinstance(item, dict):
            continue
        visited.add(marker)
        _spend(budget)
        yield item
        stack.extend(x for x in (_get(item, "/Next"), _get(item, "/First")) if x is not None)


def _action(action: Any, budget: list[int], seen: set[int]) -> str:
    """'JavaScript' or 'Launch' if this action, or one chained after it by /Next, runs something."""
    if not isinstance(action, dict) or id(action) in seen:
        return ""
    seen.add(id(action))
    _spend(budget)
    kind = action.get("/S")
    if kind == "/JavaScript" or "/JS" in action:  # /JS also rides on Rendition actions
        return "JavaScript"
    if kind == "/Launch":
        return "Launch"
    chained = _get(action, "/Next")
    for item in chained if isinstance(chained, list) else [chained]:
        if found := _action(item.get_object() if item is not None else None, budget, seen):
            return found
    return ""
