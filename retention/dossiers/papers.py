"""The dossier year's documents: the yearly list (PDF and XLSX) and the handover list, and how a
signed one becomes a record.

Drawn by the one official-document renderer (`archive.pdfdoc`), so what a clerk typed is printed
as typed. The XLSX is the same table for the clerk's spreadsheet (openpyxl, already a dependency
for reading gradebooks). A signed paper is stored before its step's transaction and filed as a
record inside it (`archive.ingest.record_from_stored`), so the step and its paper are written
together or not at all — the way the destruction documents are.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import ingest, pdfdoc
from archive.models import Dossier, DossierList, Person, Record, School
from archive.storage import ObjectStore
from retention.dossiers import common

SignPdf = Callable[[bytes], bytes]
LIST_HEADER = [
    "TT",
    "Số, ký hiệu hồ sơ",
    "Tên đề mục và tiêu đề hồ sơ",
    "Thời hạn bảo quản",
    "Người lập hồ sơ",
    "Ghi chú",
]
LIST_WIDTHS = [10, 28, 70, 22, 30, 20]
HANDOVER_HEADER = ["TT", "Số, ký hiệu hồ sơ", "Tiêu đề hồ sơ", "Thời gian", "Số tài liệu", "Số trang", "Thời hạn"]
HANDOVER_WIDTHS = [10, 28, 62, 26, 16, 14, 24]


def dossiers_of(session: Session, made: DossierList) -> list[Dossier]:
    return list(
        session.scalars(select(Dossier).where(Dossier.list_id == made.id).order_by(Dossier.heading, Dossier.number))
    )


def list_rows(dossiers: list[Dossier]) -> list[list[str]]:
    """The list's table: a row per heading (đề mục), then its dossiers."""
    rows: list[list[str]] = []
    heading = None
    for n, d in enumerate(dossiers, start=1):
        if d.heading != heading:
            heading = d.heading
            rows.append(["", "", f"{heading}. {common.heading_name(heading).upper()}", "", "", ""])
        keeper = d.owner.full_name if d.owner else ""
        rows.append([str(n), d.file_code, d.title, d.maintenance or "", keeper, ""])
    return rows


def list_document(school: School, made: DossierList, dossiers: list[Dossier], approved_by: str = "") -> pdfdoc.Document:
    state = f"Đã được hiệu trưởng {approved_by} phê duyệt." if approved_by else "Bản dự thảo, chưa được phê duyệt."
    return pdfdoc.Document(
        unit=school.name,
        title=f"Danh mục hồ sơ năm học {made.school_year}",
        before=[f"(Kèm theo quyết định ban hành danh mục hồ sơ của {school.name}.) {state}"],
        header=LIST_HEADER,
        rows=list_rows(dossiers),
        widths_mm=LIST_WIDTHS,
        after=[f"Danh mục có {len(dossiers)} hồ sơ."],
        signers=["HIỆU TRƯỞNG"],
    )


def list_xlsx(school: School, made: DossierList, dossiers: list[Dossier]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"Danh mục {made.school_year}"
    sheet.append([f"{school.name} — Danh mục hồ sơ năm học {made.school_year}"])
    sheet.append(LIST_HEADER)
    for row in list_rows(dossiers):
        sheet.append(row)
    for column, width in zip("ABCDEF", (6, 18, 70, 16, 28, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def handover_document(school: School, actor: Person, dossiers: list[Dossier], number: int) -> pdfdoc.Document:
    rows = [
        [
            str(n),
            d.file_code,
            d.title,
            f"{d.start_date:%d/%m/%Y} – {d.end_date:%d/%m/%Y}" if d.start_date and d.end_date else "",
            str(d.tt05.get("totalDoc", 0)),
            str(d.tt05.get("numberOfPage", 0)),
            d.maintenance or "",
        ]
        for n, d in enumerate(dossiers, start=1)
    ]
    pages = sum(int(r[5]) for r in rows)
    return pdfdoc.Document(
        unit=school.name,
        title="Mục lục hồ sơ nộp lưu và biên bản giao nhận",
        subtitle=f"(đợt {number})",
        before=[
            f"Bên giao: {actor.full_name}, người lập hồ sơ của {school.name}. Bên nhận: lưu trữ cơ quan của "
            f"{school.name}. Hai bên giao nhận các hồ sơ điện tử đã đóng dưới đây (NĐ 30/2020/NĐ-CP Phụ lục VI):"
        ],
        header=HANDOVER_HEADER,
        rows=rows,
        widths_mm=HANDOVER_WIDTHS,
        after=[f"Tổng số: {len(dossiers)} hồ sơ, {sum(int(r[4]) for r in rows)} tài liệu, {pages} trang."],
        signers=["BÊN GIAO", "BÊN NHẬN"],
    )


def store_signed(store: ObjectStore, tmp_dir: Path, document: pdfdoc.Document, sign: SignPdf | None) -> ingest.Received:
    """Render, sign (when a signer is given) and store the paper before the step's transaction."""
    pdf = pdfdoc.render(document)
    if sign is not None:
        pdf = sign(pdf)
    return ingest.store_bytes(store, tmp_dir, pdf, len(pdf) + 1)


def file_as_record(
    session: Session,
    store: ObjectStore,
    actor: Person,
    written: list[str],
    *,
    school: School,
    school_year: str,
    record_type: str,
    title: str,
    filename: str,
    received: ingest.Received,
    details: dict[str, object],
) -> Record:
    """Inside the step's `ingest.versioning` transaction: the paper as a record of the school."""
    return ingest.record_from_stored(
        session,
        store,
        actor,
        written,
        school=school,
        record_type_code=record_type,
        title=title,
        school_year=school_year,
        received=received,
        filename=filename,
        doc_metadata={"typeName": title.split(" ")[0], "organName": school.name, "language": "Tiếng Việt"},
        details=details,
    )
