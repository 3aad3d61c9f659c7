"""The batch's approval record ("Biên bản duyệt kế hoạch bài dạy tháng MM/YYYY"), as a PDF.

It lists every item decided in the batch — approved and returned — with teacher, subject, grade,
title and the SHA-256 of the version decided on, so one signed page proves which exact files were
approved, even for an item whose own file could not carry a signature.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from signing import periods
from signing.stamp import VN_TIME, register_fonts

RESULT = {
    ("approved", "signed"): "Duyệt, đã ký số",
    ("approved", "failed"): "Duyệt; tệp không ký được",
    ("approved", "unsigned"): "Duyệt",
    ("returned", "unsigned"): "Trả lại",
    ("pending", "unsigned"): "Chưa xem xét",
}


@dataclass(frozen=True)
class Row:
    teacher: str
    subject: str
    grade: str
    title: str
    decision: str
    sign_state: str
    sha256: str
    comment: str | None = None


def render(*, school: str, period: str, signer: str, title: str, when: datetime, rows: list[Row], round_: int) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = register_fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=11, leading=14)
    small = ParagraphStyle("small", fontName=regular, fontSize=8, leading=10)
    mono = ParagraphStyle("mono", fontName=regular, fontSize=6.5, leading=8)
    center = ParagraphStyle("center", parent=body, alignment=1)
    heading = ParagraphStyle("heading", parent=center, fontName=bold, fontSize=14, leading=18)
    local = when.astimezone(VN_TIME)
    story = [
        Table(
            [
                [
                    Paragraph(school.upper(), ParagraphStyle("s", parent=center, fontName=bold, fontSize=10)),
                    Paragraph(
                        "<b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b><br/>Độc lập - Tự do - Hạnh phúc",
                        ParagraphStyle("n", parent=center, fontName=bold, fontSize=10),
                    ),
                ],
            ],
            colWidths=[70 * mm, 100 * mm],
        ),
        Spacer(1, 8 * mm),
        Paragraph(f"BIÊN BẢN DUYỆT KẾ HOẠCH BÀI DẠY {periods.label(period).upper()}", heading),
        Paragraph(f"(đợt {round_})" if round_ > 1 else "", center),
        Spacer(1, 4 * mm),
        Paragraph(
            f"Hôm nay, {local:%H:%M} ngày {local:%d/%m/%Y}, {title.replace(chr(10), ' ')} {signer} đã xem xét "
            f"các hồ sơ do giáo viên nộp trên hệ thống hoso và quyết định như sau "
            f"(mã SHA-256 xác định chính xác tệp đã được xem xét):",
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    header = ["TT", "Giáo viên", "Môn", "Lớp", "Tên hồ sơ", "Kết quả", "SHA-256 của bản đã xem xét"]
    data = [[Paragraph(f"<b>{h}</b>", small) for h in header]]
    for i, row in enumerate(rows, start=1):
        result = RESULT.get((row.decision, row.sign_state), row.decision)
        if row.comment:
            result += f": {row.comment}"
        data.append(
            [
                Paragraph(str(i), small),
                Paragraph(row.teacher, small),
                Paragraph(row.subject, small),
                Paragraph(row.grade, small),
                Paragraph(row.title, small),
                Paragraph(result, small),
                Paragraph(row.sha256[:32] + "<br/>" + row.sha256[32:], mono),
            ]
        )
    table = Table(data, colWidths=[10 * mm, 26 * mm, 18 * mm, 16 * mm, 38 * mm, 28 * mm, 44 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
            ]
        )
    )
    approved = sum(r.decision == "approved" for r in rows)
    returned = sum(r.decision == "returned" for r in rows)
    story += [
        table,
        Spacer(1, 4 * mm),
        Paragraph(f"Tổng số: {len(rows)} hồ sơ; duyệt: {approved}; trả lại: {returned}.", body),
        Paragraph("Biên bản này được ký số cùng đợt với các hồ sơ đã duyệt.", body),
        Spacer(1, 40 * mm),  # room for the signature stamp at the foot of the last page
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Biên bản duyệt kế hoạch bài dạy {periods.label(period)}",
        author=signer,
        creator="hoso",
    )
    doc.build(story)
    return out.getvalue()
