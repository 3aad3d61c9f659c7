"""Where the stamp goes: a blank rectangle of the chosen page, so the stamp never covers content.

The page is rendered at 18 dpi in grey by PDFium (pypdfium2, a binding to the engine Chrome uses;
well under a millisecond for an A4 page) and searched for a white area the stamp's size, near the
bottom right first (where a Vietnamese document's signature block sits), then bottom left, then
centre, moving upwards.
"""

from __future__ import annotations

from dataclasses import dataclass

SCALE = 0.25  # 18 dpi: a 10 pt margin is 2.5 px; text strokes still darken pixels
WHITE = bytes(range(236, 256))  # pixels this light count as paper
MARGIN = 28.0  # points kept free around the stamp's position from the page edge


@dataclass(frozen=True)
class Placement:
    page_index: int
    box: tuple[int, int, int, int] | None  # PDF user space (x1, y1, x2, y2); None: no room, invisible


def _blank(rows: list[bytes], x0: int, x1: int, y0: int, y1: int) -> bool:
    return all(not rows[y][x0:x1].translate(None, WHITE) for y in range(y0, y1))


def find(pdf: bytes, page: str, width: float, height: float) -> Placement:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        index = 0 if page == "first" else len(doc) - 1
        pdf_page = doc[index]
        bitmap = pdf_page.render(scale=SCALE, grayscale=True)
        stride, bw, bh = bitmap.stride, bitmap.width, bitmap.height
        buf = bytes(bitmap.buffer)
        rows = [buf[y * stride : y * stride + bw] for y in range(bh)]
        # the page box origin in PDFium's rendering is the crop box's lower-left corner
        left, bottom = pdf_page.get_cropbox()[:2]
    finally:
        doc.close()
    sw, sh, m = int(width * SCALE) + 2, int(height * SCALE) + 2, int(MARGIN * SCALE)
    if sw + 2 * m > bw or sh + 2 * m > bh:
        return Placement(index, None)
    xs = [bw - m - sw, m, (bw - sw) // 2]
    for y_bottom in range(bh - m, sh + m - 1, -2):  # from the bottom of the page upwards
        for x in xs:
            if _blank(rows, x, x + sw, y_bottom - sh, y_bottom):
                x1 = left + x / SCALE
                y1 = bottom + (bh - y_bottom) / SCALE
                return Placement(index, (round(x1), round(y1), round(x1 + width), round(y1 + height)))
    return Placement(index, None)
