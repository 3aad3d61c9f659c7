"""The batch's approval record ("Biên bản duyệt kế hoạch bài dạy tháng 11/2026"): what it says.

It lists every item decided in the batch — approved and returned — with teacher, subject, grade,
title, the result (and where the signature went) and the SHA-256 of the version decided on, so
one signed page proves which exact files were approved, even for an item whose own file could not
carry a signature. The PDF is drawn by the one official-document renderer (`archive.pdfdoc`),
which escapes what teachers typed: a title like `Bài <i>mới` is printed as typed.

The title names what was approved: a batch is one school and one period, and a period has one
cadence, but several record types may share it (lesson plans and lesson recordings are both
monthly), so a batch of one type names it, and a mixed batch says "hồ sơ" and lists the types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from archive import pdfdoc
from archive.fonts import VN_TIME
from signing import periods
from signing.models import Decision, SignState, StampPlace

RESULT = {
    ("approved", "signed"): "Duyệt, đã ký số",
    ("approved", "failed"): "Duyệt; tệp không ký được",
    ("approved", "unsigned"): "Duyệt",
    ("returned", "unsigned"): "Trả lại",
    ("pending", "unsigned"): "Chưa xem xét",
}
# Where the signature of a signed item went, as the record says it (nothing for the usual place).
PLACE = {
    StampPlace.first_page: "chữ ký hiển thị ở trang đầu",
    StampPlace.added_page: "chữ ký ở trang ký thêm vào cuối tệp",
    StampPlace.invisible: "chữ ký số không hiển thị (tệp không còn chỗ trống)",
    StampPlace.detached: "chữ ký số rời (.p7s)",
}
HEADER = ["TT", "Giáo viên", "Môn", "Lớp", "Tên hồ sơ", "Kết quả", "SHA-256 của bản đã xem xét"]
WIDTHS = [10, 26, 18, 16, 38, 28, 44]


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
    record_type: str = ""  # the type's Vietnamese name
    stamp_place: str | None = None
    rendition_sha256: str | None = None  # a DOCX/XLSX reviewed as its PDF rendition: both files' hashes


def hashes(row: Row) -> str:
    """The hash cell: the file reviewed, or for a Word/Excel original both it and the PDF reviewed."""
    if not row.rendition_sha256:
        return f"{row.sha256[:32]}\n{row.sha256[32:]}"
    a, b = row.sha256, row.rendition_sha256
    return f"Tệp gốc:\n{a[:32]}\n{a[32:]}\nBản PDF đã xem:\n{b[:32]}\n{b[32:]}"


def short_name(name_vi: str) -> str:
    """A record type's name as a sentence uses it: "Kế hoạch bài dạy (giáo án)" → "kế hoạch bài dạy"."""
    name = re.sub(r"\s*\([^)]*\)", "", name_vi).strip() or name_vi.strip()
    return name[:1].lower() + name[1:]


def title(type_names: Sequence[str], period: str, round_: int = 1) -> str:
    """ "Biên bản duyệt sổ theo dõi và đánh giá học sinh học kỳ I năm học 2025-2026", or for a
    mixed batch "Biên bản duyệt hồ sơ tháng 11/2026 (kế hoạch bài dạy; video ghi hình tiết dạy)"."""
    names = sorted({short_name(n) for n in type_names if n.strip()})  # the same title whatever the order
    label = periods.label(period)
    if len(names) == 1:
        text = f"Biên bản duyệt {names[0]} {label}"
    elif names:
        text = f"Biên bản duyệt hồ sơ {label} ({'; '.join(names)})"
    else:
        text = f"Biên bản duyệt hồ sơ {label}"
    return text + (f" (đợt {round_})" if round_ > 1 else "")


def result(row: Row) -> str:
    said = RESULT.get((row.decision, row.sign_state), row.decision)
    if row.sign_state == SignState.signed and row.stamp_place in PLACE:
        said += f" ({PLACE[StampPlace(row.stamp_place)]})"
    if row.comment:
        said += f": {row.comment}"
    return said


def document(
    *, school: str, period: str, signer: str, signer_title: str, when: datetime, rows: list[Row], round_: int
) -> pdfdoc.Document:
    types = [r.record_type for r in rows]
    mixed = len(set(types)) > 1
    local = when.astimezone(VN_TIME)
    approved = sum(r.decision == Decision.approved for r in rows)
    returned = sum(r.decision == Decision.returned for r in rows)
    return pdfdoc.Document(
        unit=school,
        title=title(types, period),
        subtitle=f"(đợt {round_})" if round_ > 1 else "",
        before=[
            f"Hôm nay, {local:%H:%M} ngày {local:%d/%m/%Y}, {signer_title.replace(chr(10), ' ')} {signer} đã xem xét "
            "các hồ sơ do giáo viên nộp trên hệ thống hoso và quyết định như sau "
            "(mã SHA-256 xác định chính xác tệp đã được xem xét):"
        ],
        header=HEADER,
        rows=[
            [
                str(i),
                r.teacher,
                r.subject,
                r.grade,
                f"{r.title}\nLoại: {r.record_type}" if mixed and r.record_type else r.title,
                result(r),
                hashes(r),
            ]
            for i, r in enumerate(rows, start=1)
        ],
        widths_mm=WIDTHS,
        fine_columns=[6],
        after=[
            f"Tổng số: {len(rows)} hồ sơ; duyệt: {approved}; trả lại: {returned}.",
            "Biên bản này được ký số cùng đợt với các hồ sơ đã duyệt.",
        ],
        author=signer,
    )


def render(
    *, school: str, period: str, signer: str, signer_title: str, when: datetime, rows: list[Row], round_: int
) -> bytes:
    return pdfdoc.render(
        document(
            school=school, period=period, signer=signer, signer_title=signer_title, when=when, rows=rows, round_=round_
        )
    )
