"""Where the stamp goes: a blank rectangle of the chosen page, so the stamp never covers content.

The page is rendered at 18 dpi in grey by PDFium (pypdfium2, a binding to the engine Chrome uses;
well under a millisecond for an A4 page) and searched for a white area the stamp's size, near the
bottom right first (where a Vietnamese document's signature block sits), then bottom left, then
centre, moving upwards.

A page with no blank room (lesson plans are often full to the margin) used to get an invisible
signature without a word. Now the fallback is a setting (`HOSO_STAMP_FALLBACK`): `added-page`
(the default) adds a signature page at the end; `first-page` tries the first page's blank room
first, then adds the page. A document that already carries signatures gets no added page (a new
page after a signature makes that signature read as "changed after signing"): its first page is
tried, and only then is the signature invisible. Whichever happens is returned as a `StampPlace`
and shown to the principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archive.preview import PDFIUM_LOCK
from signing.models import StampPlace

FALLBACKS = ("added-page", "first-page")
SAID = {  # what the principal is told about each place (pages, CLI, API consumers)
    StampPlace.last_page: ("chữ ký hiển thị ở trang cuối", "signature shown on the last page"),
    StampPlace.first_page: ("chữ ký hiển thị ở trang đầu", "signature shown on the first page"),
    StampPlace.added_page: (
        "tệp không còn chỗ trống: chữ ký ở trang ký thêm vào cuối tệp",
        "no blank room in the file: signature on a signature page added at its end",
    ),
    StampPlace.invisible: (
        "tệp không còn chỗ trống và đã có chữ ký khác: chữ ký số không hiển thị",
        "no blank room and the file carries other signatures: the digital signature is not visible",
    ),
    StampPlace.detached: (
        "chữ ký số rời (.p7s), tệp giữ nguyên",
        "detached digital signature (.p7s), the file unchanged",
    ),
}
NOTEWORTHY = (StampPlace.first_page, StampPlace.added_page, StampPlace.invisible)  # not where a reader looks first
SCALE = 0.25  # 18 dpi: a 10 pt margin is 2.5 px; text strokes still darken pixels
WHITE = bytes(range(236, 256))  # pixels this light count as paper
MARGIN = 28.0  # points kept free around the stamp's position from the page edge


@dataclass(frozen=True)
class Placement:
    page_index: int  # for an added page: the index it will have (the current page count)
    box: tuple[int, int, int, int] | None  # PDF user space (x1, y1, x2, y2); None: invisible, or added page
    place: StampPlace = StampPlace.invisible
    size: tuple[float, float] = (595.0, 842.0)  # the last page's width and height: an added page's size


def _blank(rows: list[bytes], x0: int, x1: int, y0: int, y1: int) -> bool:
    return all(not rows[y][x0:x1].translate(None, WHITE) for y in range(y0, y1))


def _room(pdf_page: Any, width: float, height: float) -> tuple[int, int, int, int] | None:
    """A blank box of the stamp's size on this page, bottom right first, or None."""
    bitmap = pdf_page.render(scale=SCALE, grayscale=True)
    stride, bw, bh = bitmap.stride, bitmap.width, bitmap.height
    buf = bytes(bitmap.buffer)
    rows = [buf[y * stride : y * stride + bw] for y in range(bh)]
    # the page box origin in PDFium's rendering is the crop box's lower-left corner
    left, bottom = pdf_page.get_cropbox()[:2]
    sw, sh, m = int(width * SCALE) + 2, int(height * SCALE) + 2, int(MARGIN * SCALE)
    if sw + 2 * m > bw or sh + 2 * m > bh:
        return None
    xs = [bw - m - sw, m, (bw - sw) // 2]
    for y_bottom in range(bh - m, sh + m - 1, -2):  # from the bottom of the page upwards
        for x in xs:
            if _blank(rows, x, x + sw, y_bottom - sh, y_bottom):
                x1 = left + x / SCALE
                y1 = bottom + (bh - y_bottom) / SCALE
                return (round(x1), round(y1), round(x1 + width), round(y1 + height))
    return None


def find(
    pdf: bytes, page: str, width: float, height: float, fallback: str = "added-page", may_add: bool = True
) -> Placement:
    """Where the stamp goes: blank room on `page` ("first"/"last"), else per `fallback`, never over content."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:  # PDFium is not thread-safe: one call at a time in the process (archive/preview.py)
        return _find(pdfium.PdfDocument(pdf), page, width, height, fallback, may_add)


def _find(doc: Any, page: str, width: float, height: float, fallback: str, may_add: bool) -> Placement:
    try:
        count = len(doc)
        left, bottom, right, top = doc[count - 1].get_mediabox()
        size = (abs(right - left), abs(top - bottom))
        chosen = 0 if page == "first" else count - 1
        tries = [chosen]
        if chosen != 0 and (fallback == "first-page" or not may_add):
            tries.append(0)
        for index in tries:
            box = _room(doc[index], width, height)
            if box is not None:
                place = StampPlace.last_page if index == count - 1 and page != "first" else StampPlace.first_page
                return Placement(index, box, place, size)
    finally:
        doc.close()
    if may_add:
        return Placement(count, None, StampPlace.added_page, size)
    return Placement(chosen, None, StampPlace.invisible, size)
