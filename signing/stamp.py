"""The visible signature stamp (NĐ 30/2020 Phụ lục I), rendered once per batch as a tiny PDF page.

pyHanko's own text stamp lays out Vietnamese badly and costs ~90 ms a document (DESIGN §9), so the
stamp is drawn once with reportlab, which embeds a subset of a real Unicode TrueType font
(Liberation Serif, the metric twin of Times New Roman), and imported into each signature field as
a static appearance. Title above, optional signature image centred between title and name, name
below, then "Đã duyệt" and the signing time.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archive.exceptions import FontMissing
from archive.fonts import VN_TIME, register_fonts

WIDTH = 200.0
HEIGHT = 96.0
IMAGE_HEIGHT = 40.0


@dataclass(frozen=True)
class Stamp:
    pdf: bytes
    width: float
    height: float


def signing_time_text(when: datetime) -> str:
    local = when.astimezone(VN_TIME)
    return f"Ngày ký: {local:%d/%m/%Y %H:%M} (GMT+7)"


def render(
    *,
    title: str,
    name: str,
    when: datetime,
    verdict: str = "ĐÃ DUYỆT",
    image: bytes | None = None,
    font: Path | None = None,
) -> Stamp:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    regular, bold = register_fonts(font)
    title_lines = title.split("\n")
    height = HEIGHT + 11 * (len(title_lines) - 1) + (IMAGE_HEIGHT if image else 0)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(WIDTH, height), pageCompression=1)
    c.setTitle("hoso signature stamp")
    c.setStrokeColorRGB(0, 0, 0)
    c.setLineWidth(0.6)
    c.rect(1, 1, WIDTH - 2, height - 2)
    y = height - 16
    c.setFont(bold, 11)
    c.drawCentredString(WIDTH / 2, y, verdict)
    for line in title_lines:
        y -= 13
        c.drawCentredString(WIDTH / 2, y, line)
    if image:
        reader = ImageReader(io.BytesIO(image))
        iw, ih = reader.getSize()
        h = IMAGE_HEIGHT - 4
        w = min(WIDTH - 20, iw * h / ih)
        y -= IMAGE_HEIGHT
        c.drawImage(reader, (WIDTH - w) / 2, y + 2, width=w, height=h, mask="auto")
    y -= 18
    c.setFont(bold, 12)
    c.drawCentredString(WIDTH / 2, y, name)
    y -= 14
    c.setFont(regular, 9)
    c.drawCentredString(WIDTH / 2, y, signing_time_text(when))
    y -= 11
    c.drawCentredString(WIDTH / 2, y, "Ký số bằng hoso (PAdES)")
    c.showPage()
    c.save()
    return Stamp(pdf=out.getvalue(), width=WIDTH, height=height)


def check_image(image: bytes) -> None:
    """Refuse a signature image reportlab cannot draw, before a batch starts (not half-way through it)."""
    from datetime import UTC

    from archive.exceptions import InvalidInput

    try:
        render(title="HIỆU TRƯỞNG", name="Thử", when=datetime.now(UTC), image=image)
    except FontMissing:
        raise
    except Exception as e:
        raise InvalidInput(
            "Ảnh chữ ký bị hỏng, không vẽ được.", f"The signature image is damaged and cannot be drawn: {e}"
        ) from None


SIGNATURE_PAGE_TITLE = "TRANG KÝ SỐ"
SIGNATURE_PAGE_NOTE = (
    "Trang này được thêm vào khi ký số vì tài liệu không còn chỗ trống để đặt chữ ký mà không che nội dung. "
    "Các trang trước giữ nguyên nội dung đã nộp; chữ ký số bao trùm toàn bộ tài liệu."
)


def signature_page(
    width: float, height: float, stamp_width: float, stamp_height: float, font: Path | None = None
) -> tuple[bytes, tuple[int, int, int, int]]:
    """A page added for the signature when the document has no blank room, and where its stamp goes.

    It says why it is there, so a reader of the signed PDF is never left wondering about a page
    the teacher did not write.
    """
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Paragraph

    regular, bold = register_fonts(font)
    margin = 56.0
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(width, height), pageCompression=1)
    c.setTitle("hoso signature page")
    c.setFont(bold, 13)
    c.drawCentredString(width / 2, height - margin - 13, SIGNATURE_PAGE_TITLE)
    note = Paragraph(SIGNATURE_PAGE_NOTE, ParagraphStyle("note", fontName=regular, fontSize=11, leading=15))
    _w, note_height = note.wrap(width - 2 * margin, height)
    note_top = height - margin - 30
    note.drawOn(c, margin, note_top - note_height)
    c.showPage()
    c.save()
    x2 = round(width - margin)
    y2 = round(note_top - note_height - 24)
    return out.getvalue(), (round(x2 - stamp_width), round(y2 - stamp_height), x2, y2)
