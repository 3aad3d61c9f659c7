"""Pages of a PDF version as PNG images, so a principal reads 39 plans beside her queue, not in 39 tabs.

The browser's own PDF viewer was the other way (an `<iframe>` of the inline download), but it is a
plug-in page the app cannot steer: no keyboard shortcut reaches the queue while it has the focus,
a phone's browser downloads the file instead of showing it, and the CSP (`frame-ancestors 'none'`,
no `frame-src`) would have to open up. A PNG is an `<img>`: lazy-loaded, cached, keyboard-neutral,
the same on every browser, and the thumbnails of the queue and of search are the same endpoint at
a small width.

PDFium renders (pypdfium2, already here for the stamp's placement; the engine Chrome uses).
Measured here on the test lesson plan (A4, two pages of Vietnamese text): opening the document,
rendering a page 900 px wide and encoding it as PNG takes about 20 ms (35 KB), a 120 px thumbnail
about 2 ms (1 KB), so pages are rendered on request, with no cache of their own: the browser keeps
each answer (a version never changes) and revalidates it by its ETag.

Bounds, so the endpoint cannot be used to exhaust the server: a width of at most `MAX_WIDTH` px, at
most `MAX_PIXELS` per image (a page that is one long strip is scaled down to fit), page numbers up
to `MAX_PAGE` and within the document, sources of at most `MAX_SOURCE` bytes, and one render at a
time in the process: PDFium is not thread-safe (pypdfium2's documentation: no two calls at once,
not even on different documents), so `PDFIUM_LOCK` serialises every use of it, the stamp
placement's included, which also keeps page previews to one core of the server's.
"""

from __future__ import annotations

import io
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.exceptions import InvalidInput, NotFound, UnsupportedMediaType
from archive.models import Version

PDF = "application/pdf"
MIN_WIDTH, MAX_WIDTH = 32, 1600
MAX_PIXELS = MAX_WIDTH * 2400  # a 1600 px wide A4 page (1600 × 2263) fits; a strip is scaled down
MAX_PAGE = 500
MAX_SOURCE = 256 * 1024 * 1024
PDFIUM_LOCK = threading.Lock()


def newest_pdf(session: Session, record_ids: Iterable[str]) -> dict[str, int]:
    """Each record's newest version that is a PDF (original, signed or a derived rendition), by number.

    A record with none (a DOCX not yet rendered, a recording) is absent: "Chưa có bản xem trước"."""
    ids = list(record_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Version.record_id, func.max(Version.number))
        .where(Version.record_id.in_(ids), Version.media_type == PDF)
        .group_by(Version.record_id)
    )
    return {record_id: number for record_id, number in rows}


def check_request(version: Version, page: int, width: int) -> None:
    """Refuse, before a byte is read, what cannot be or must not be rendered."""
    if version.media_type != PDF:
        raise UnsupportedMediaType(
            "Chưa có bản xem trước: phiên bản này không phải tệp PDF. Hãy tải tệp về để xem.",
            "No preview yet: this version is not a PDF. Download the file to read it.",
            media_type=version.media_type,
        )
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise InvalidInput(
            f"Độ rộng ảnh trang phải từ {MIN_WIDTH} đến {MAX_WIDTH} điểm ảnh.",
            f"The page image width must be between {MIN_WIDTH} and {MAX_WIDTH} pixels.",
            width=width,
        )
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(
            f"Số trang phải từ 1 đến {MAX_PAGE}.", f"The page number must be between 1 and {MAX_PAGE}.", page=page
        )
    if version.size > MAX_SOURCE:
        raise UnsupportedMediaType(
            "Tệp quá lớn để xem trước; hãy tải tệp về để xem.",
            "The file is too large to preview; download it to read it.",
            size=version.size,
        )


@contextmanager
def _spooled(chunks: Iterator[bytes] | Path) -> Iterator[BinaryIO]:
    """The bytes in a file for PDFium to seek in: a verified local copy (archive/preview_copies.py)
    as it is, or chunks in a temporary file (in memory up to 16 MiB)."""
    if isinstance(chunks, Path):
        with open(chunks, "rb") as copy:
            yield copy
        return
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        yield spool  # type: ignore[misc]


def page_count(chunks: Iterator[bytes] | Path) -> int:
    """How many pages the PDF has (0 when PDFium cannot open it)."""
    import pypdfium2 as pdfium

    with _spooled(chunks) as source, PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(source)
        except pdfium.PdfiumError:
            return 0
        try:
            return len(doc)
        finally:
            doc.close()


def render_png(chunks: Iterator[bytes] | Path, page: int, width: int) -> tuple[bytes, int]:
    """Page `page` (from 1) of the PDF in `chunks` as a PNG `width` px wide, and the page count.

    Raises NotFound for a page the document does not have."""
    import pypdfium2 as pdfium

    with _spooled(chunks) as source, PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(source)
        except pdfium.PdfiumError as e:
            raise UnsupportedMediaType(
                "Không mở được tệp PDF này để xem trước; hãy tải tệp về để xem.",
                "This PDF cannot be opened for a preview; download it to read it.",
            ) from e
        try:
            count = len(doc)
            if page > count:
                raise NotFound(f"Tài liệu chỉ có {count} trang.", f"The document has only {count} pages.", pages=count)
            pdf_page = doc[page - 1]
            page_width, page_height = pdf_page.get_size()
            scale = width / max(page_width, 1.0)
            if width * page_height * scale > MAX_PIXELS:
                scale = (MAX_PIXELS / max(page_width * page_height, 1.0)) ** 0.5
            image = pdf_page.render(scale=scale, may_draw_forms=True).to_pil()
        finally:
            doc.close()
    return _png(image), count


def _png(image: Any) -> bytes:
    """PNG, in grey when the page has no colour: a text page is 35 KB instead of 160 KB at 900 px
    (measured on the test lesson plan), and zlib level 3, a third faster than the default 6 and smaller
    here (anti-aliased text compresses no better at higher levels)."""
    from PIL import ImageChops

    if image.mode != "RGB":
        image = image.convert("RGB")
    red, green, blue = image.split()
    if ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None:
        image = red
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()
