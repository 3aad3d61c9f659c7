"""What a copy carries on its pages: "BẢN SAO" on every page of a downloadable copy, the school's
name across every page image of a read copy, and the authentication page of an authenticated copy.

TT 05/2025/TT-BNV on use (DESIGN §5): a copy that is not authenticated is marked "BẢN SAO"; a read
copy is shown only in the viewer with the agency's name on every page. The marks are drawn with
reportlab in Liberation Serif (Times New Roman's metric twin, NĐ 30/2020) on a transparent page of
each page's own size, and laid over the page with pypdf: the original's bytes are read, never
written, and the copy is a new file. A page image of a read copy is watermarked after PDFium renders
it (Pillow), so no unmarked page image exists for it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from archive.exceptions import InvalidInput
from archive.fonts import VN_TIME, font_file, register_fonts

MARK = "BẢN SAO"
MARK_COLOUR = (0.62, 0.05, 0.05)  # the dark red of a copy stamp; the text under it stays legible
SEAL_BOX = (200.0, 78.0)  # room left top-right of the authentication page for the seal's signature
MARGIN = 36.0


@dataclass(frozen=True)
class CopyLabel:
    """What the marks name: the school, the copy's number, the day it was made and for whom."""

    school: str
    number: str
    made_at: datetime
    requester: str

    def footer(self) -> str:
        day = self.made_at.astimezone(VN_TIME)
        return f"Bản sao số {self.number} — {self.school} — sao ngày {day:%d/%m/%Y} — cấp cho {self.requester}"


def _overlay(width: float, height: float, label: CopyLabel, font: Path | None) -> bytes:
    """One transparent page of the page's size: the mark top-right, the footer along the bottom."""
    from reportlab.pdfgen import canvas

    regular, bold = register_fonts(font)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(width, height), pageCompression=1)
    mark_w, mark_h = 96.0, 26.0
    x, y = width - MARGIN / 2 - mark_w, height - MARGIN / 2 - mark_h
    c.setFillColorRGB(1, 1, 1, alpha=0.85)
    c.rect(x, y, mark_w, mark_h, stroke=0, fill=1)
    c.setStrokeColorRGB(*MARK_COLOUR)
    c.setFillColorRGB(*MARK_COLOUR)
    c.setLineWidth(1.4)
    c.rect(x, y, mark_w, mark_h, stroke=1, fill=0)
    c.setFont(bold, 14)
    c.drawCentredString(x + mark_w / 2, y + 8, MARK)
    size = 8.0
    footer = label.footer()
    while size > 5 and c.stringWidth(footer, regular, size) > width - MARGIN:
        size -= 0.5
    c.setFillColorRGB(1, 1, 1, alpha=0.85)
    c.rect(MARGIN / 2, 6, width - MARGIN, size + 6, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(regular, size)
    c.drawString(MARGIN / 2 + 2, 9, footer)
    c.showPage()
    c.save()
    return out.getvalue()


def stamp_copy(source: BinaryIO, label: CopyLabel, out: BinaryIO, font: Path | None = None) -> int:
    """The source PDF with "BẢN SAO" and the footer on every page, written to `out`; its page count.

    Each page keeps its content; the mark is merged on top (in the page's own coordinates, so a
    rotated or cropped page is marked where it is seen). Written to a file, not returned as bytes:
    pypdf holds the document's objects while it works, and a returned copy (plus the BytesIO the
    store read from) added two more — 115 MiB of Python heap for a 48 MiB scan, 78 MiB now, pypdf alone 55
    (bench/copy_memory.py)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(source)
        writer = PdfWriter(clone_from=reader)
    except (PdfReadError, ValueError, KeyError, TypeError) as e:
        raise InvalidInput(
            "Không đọc được tệp PDF của tài liệu để làm bản sao.", f"The record's PDF cannot be read to copy: {e}"
        ) from None
    overlays: dict[tuple[float, float], object] = {}
    for page in writer.pages:
        page.transfer_rotation_to_content()
        box = page.cropbox
        size = (round(float(box.width), 1), round(float(box.height), 1))
        if size not in overlays:
            overlays[size] = PdfReader(io.BytesIO(_overlay(*size, label, font))).pages[0]
        page.merge_translated_page(overlays[size], float(box.left), float(box.bottom), over=True)  # type: ignore[arg-type]
    writer.add_metadata({"/Title": f"{MARK} {label.number} — {label.school}", "/Producer": "hoso"})
    writer.write(out)
    return len(writer.pages)


@dataclass(frozen=True)
class Authentication:
    """The facts the authentication page states (TT 05/2025: the agency vouches the copy matches)."""

    school: str
    record_title: str
    record_id: str
    record_type: str
    school_year: str
    version: str
    original_sha256: str
    pages: int
    requester: str
    purpose: str
    authenticated_by: str
    authenticated_at: datetime
    number: str


def authentication_page(facts: Authentication, font: Path | None = None) -> bytes:
    """An A4 page stating what the copy is, with the top-right corner (`SEAL_BOX`) left for the seal."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Paragraph, Table, TableStyle

    regular, bold = register_fonts(font)
    width, height = 595.3, 841.9
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(width, height), pageCompression=1)
    c.setTitle(f"Trang xác thực bản sao {facts.number}")
    c.setFont(bold, 12)
    c.drawString(56, height - 60, facts.school.upper())
    c.setFont(regular, 11)
    c.drawString(56, height - 76, f"Số: {facts.number}")
    top = height - 60 - SEAL_BOX[1] - 20
    c.setFont(bold, 15)
    c.drawCentredString(width / 2, top, "TRANG XÁC THỰC BẢN SAO")
    c.setFont(regular, 11)
    c.drawCentredString(width / 2, top - 17, "(Bản sao có xác thực — Thông tư 05/2025/TT-BNV)")
    cell = ParagraphStyle("cell", fontName=regular, fontSize=10.5, leading=13.5)
    head = ParagraphStyle("head", parent=cell, fontName=bold)
    at = facts.authenticated_at.astimezone(VN_TIME)
    sha = facts.original_sha256
    rows = [
        ("Tài liệu", facts.record_title),
        ("Loại tài liệu", facts.record_type),
        ("Năm học", facts.school_year),
        ("Mã tài liệu trong hệ thống", facts.record_id),
        ("Phiên bản được sao", facts.version),
        ("SHA-256 của bản gốc", f"{sha[:32]}<br/>{sha[32:]}"),
        ("Số trang được sao", str(facts.pages)),
        ("Người yêu cầu", facts.requester),
        ("Mục đích sử dụng", facts.purpose),
        ("Người xác thực", facts.authenticated_by),
        ("Thời điểm xác thực", f"{at:%d/%m/%Y %H:%M} (GMT+7)"),
        ("Số bản sao", facts.number),
    ]
    table = Table(
        [[Paragraph(k, head), Paragraph(_escape(v) if "<br/>" not in v else v, cell)] for k, v in rows],
        colWidths=[150, width - 112 - 150],
    )
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, (0, 0, 0)), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    _w, table_h = table.wrap(width - 112, height)
    table.drawOn(c, 56, top - 40 - table_h)
    note = Paragraph(
        _escape(
            f"{facts.school} xác thực các trang sau là bản sao đúng với bản gốc đang lưu trữ, có mã SHA-256 ghi "
            f"trên. Mỗi trang sao mang dấu “{MARK}”. Chữ ký số của cơ quan (chứng thư số của con dấu) ở góc trên "
            "bên phải trang này bao trùm toàn bộ tệp: sửa bất kỳ trang nào, chữ ký không còn hợp lệ."
        ),
        cell,
    )
    _w, note_h = note.wrap(width - 112, height)
    note.drawOn(c, 56, top - 60 - table_h - note_h)
    c.showPage()
    c.save()
    return out.getvalue()


def seal_box(width: float = 595.3, height: float = 841.9) -> tuple[int, int, int, int]:
    """Where the seal's visible signature goes on the authentication page: top-right (NĐ 30/2020 Phụ lục I)."""
    x2, y2 = round(width - MARGIN), round(height - 28)
    return x2 - round(SEAL_BOX[0]), y2 - round(SEAL_BOX[1]), x2, y2


def prepend(first: bytes, rest: BinaryIO, out: BinaryIO) -> None:
    """`first`'s page(s) followed by `rest`'s, as one new PDF written to `out`."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(first)))
    writer.append(PdfReader(rest))
    writer.write(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def watermark_png(png: bytes, school: str, until: str, font: Path | None = None) -> bytes:
    """A read copy's page image with the school's name across it, diagonally and at the foot.

    Diagonal, repeated and translucent: cropping one corner off a screenshot leaves the name."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.open(io.BytesIO(png)).convert("RGBA")
    w, h = page.size
    path = str(font_file(font))
    size = max(12, w // 28)
    big = ImageFont.truetype(path, size)
    text = f"{school} — BẢN ĐỌC"
    tile = Image.new("RGBA", (w * 2, h * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    step_y = size * 5
    for row, y in enumerate(range(0, h * 2, step_y)):
        draw.text(((row % 2) * size * 6, y), ("   " + text) * 4, font=big, fill=(150, 20, 20, 70))
    tile = tile.rotate(30, resample=Image.Resampling.BICUBIC)
    page.alpha_composite(tile.crop((w // 2, h // 2, w // 2 + w, h // 2 + h)))
    foot = ImageFont.truetype(path, max(10, w // 60))
    band = ImageDraw.Draw(page)
    line = f"{school} — bản đọc, chỉ xem trên hệ thống, đến hết ngày {until}"
    band.rectangle((0, h - foot.size * 2, w, h), fill=(255, 255, 255, 230))
    band.text((foot.size, h - foot.size * 1.6), line, font=foot, fill=(0, 0, 0, 255))
    out = io.BytesIO()
    page.convert("RGB").save(out, format="PNG", compress_level=3)
    return out.getvalue()
