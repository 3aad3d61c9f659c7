"""Official school documents as PDF (NĐ 30/2020 layout): the unit and the national motto on top,
a title, paragraphs, a table, closing paragraphs, and room at the foot for a signature stamp.

Used for every record hoso writes itself: the monthly approval record (biên bản duyệt), the
destruction list, the council's minutes, the decision, the biên bản hủy. Text is Vietnamese in
Liberation Serif (`archive.fonts`).

Every string is plain text, never markup: much of it was typed by teachers (a title
`Bài <i>mới` once made reportlab's paragraph parser raise, and with it the whole signing batch).
So everything is escaped here, in one place, and a newline is the only formatting a caller has (a
line break). Table rows may split across pages, so a long comment never overflows a page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from archive.fonts import register_fonts


@dataclass(frozen=True)
class Document:
    unit: str  # the issuing unit, e.g. the school's name
    title: str
    subtitle: str = ""  # a line under the title, e.g. "(đợt 2)"
    before: Sequence[str] = ()  # paragraphs before the table
    header: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    widths_mm: Sequence[float] = ()
    fine_columns: Sequence[int] = ()  # columns set in small type (SHA-256 digests)
    after: Sequence[str] = ()
    signers: Sequence[str] = field(default_factory=tuple)  # captions over the signature space
    author: str = ""  # the PDF's author metadata (default: the unit)


def text(value: object) -> str:
    """Plain text as reportlab paragraph markup: escaped, newlines as line breaks."""
    return "<br/>".join(escape(line) for line in str(value).split("\n"))


def render(doc: Document) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = register_fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=11, leading=14, spaceAfter=4)
    small = ParagraphStyle("small", fontName=regular, fontSize=8, leading=10)
    fine = ParagraphStyle("fine", fontName=regular, fontSize=6.5, leading=8)
    center = ParagraphStyle("center", parent=body, alignment=1)
    heading = ParagraphStyle("heading", parent=center, fontName=bold, fontSize=14, leading=18)
    top = ParagraphStyle("top", parent=center, fontName=bold, fontSize=10)
    story = [
        Table(
            [
                [
                    Paragraph(text(doc.unit.upper()), top),
                    Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br/>Độc lập - Tự do - Hạnh phúc", top),
                ]
            ],
            colWidths=[70 * mm, 100 * mm],
        ),
        Spacer(1, 8 * mm),
        Paragraph(text(doc.title.upper()), heading),
    ]
    if doc.subtitle:
        story.append(Paragraph(text(doc.subtitle), center))
    story.append(Spacer(1, 4 * mm))
    story += [Paragraph(text(p), body) for p in doc.before]
    if doc.header:
        fine_columns = set(doc.fine_columns)
        data = [[Paragraph(f"<b>{text(h)}</b>", small) for h in doc.header]]
        data += [
            [Paragraph(text(cell), fine if i in fine_columns else small) for i, cell in enumerate(row)]
            for row in doc.rows
        ]
        widths = [w * mm for w in doc.widths_mm] or None
        table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
                ]
            )
        )
        story += [Spacer(1, 2 * mm), table, Spacer(1, 4 * mm)]
    story += [Paragraph(text(p), body) for p in doc.after]
    if doc.signers:
        story += [
            Spacer(1, 6 * mm),
            Table([[Paragraph(f"<b>{text(s)}</b>", center) for s in doc.signers]]),
        ]
    story.append(Spacer(1, 40 * mm))  # room for a signature stamp at the foot of the last page
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=doc.title,
        author=doc.author or doc.unit,
        creator="hoso",
    ).build(story)
    return out.getvalue()
