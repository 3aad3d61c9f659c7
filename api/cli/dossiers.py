"""`hoso dossiers …`: the clerk's dossier year from a shell — the yearly list (generate, show,
export), the principal's approval, unfiled records and refiling, closing, handing over, the deadline.

Each command acts as a named person (`--as`), with the same rules as the pages and the API: the
functions called are theirs. A refusal prints its Vietnamese and English message and exits 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import typer

from api.cli.common import active_person, console, open_session
from archive.dossier_models import DossierState
from archive.exceptions import IntegrityFailure
from archive.storage import make_store
from flows import dossiers as dossier_flow
from flows.settings import Settings

AS = typer.Option(..., "--as", help="Người thực hiện / acting user (username)")


def generate(
    school: str = typer.Argument(..., help="Mã trường / school code"),
    school_year: str = typer.Argument(..., help="Năm học / school year, e.g. 2025-2026"),
    grade: list[int] = typer.Option([], "--grade", help="Khối lớp của trường / a grade taught (repeat)"),
    subject: list[str] = typer.Option([], "--subject", help="Môn học / a subject taught (repeat)"),
    pattern: str | None = typer.Option(None, "--pattern", help="Mẫu số, ký hiệu / file-code pattern"),
    username: str = AS,
) -> None:
    """Lập danh mục hồ sơ năm học (bản dự thảo) / generate the draft yearly list of dossiers."""
    from retention.dossiers import views, yearly_list

    with open_session(Settings()) as session:
        made = yearly_list.generate(
            session,
            active_person(session, username),
            school_code=school,
            school_year=school_year,
            grades=grade,
            subjects=subject,
            file_code_pattern=pattern,
        )
        _print_list(views.list_view(session, made))


def show(
    school: str = typer.Argument(..., help="Mã trường / school code"),
    school_year: str = typer.Argument(..., help="Năm học / school year"),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="Ghi ra tệp XLSX / write the list as XLSX"),
    pdf: Path | None = typer.Option(None, "--pdf", help="Ghi ra tệp PDF / write the list as PDF"),
    username: str = AS,
) -> None:
    """Xem, xuất danh mục hồ sơ / show or export a yearly list."""
    from retention.dossiers import views

    settings = Settings()
    with open_session(settings) as session:
        made = views.list_of(session, active_person(session, username), school, school_year)
        _print_list(views.list_view(session, made))
        if xlsx is not None:
            xlsx.write_bytes(views.list_xlsx(session, made))
        if pdf is not None:
            pdf.write_bytes(views.list_pdf(session, make_store(settings), made))


def approve(
    school: str = typer.Argument(..., help="Mã trường / school code"),
    school_year: str = typer.Argument(..., help="Năm học / school year"),
    username: str = AS,
) -> None:
    """Hiệu trưởng phê duyệt danh mục (đóng dấu PDF) / the principal approves the list (sealed PDF)."""
    from retention.dossiers import views

    settings = Settings()
    with open_session(settings) as session:
        person = active_person(session, username)
        made = views.list_of(session, person, school, school_year)
        done = dossier_flow.approve_list(session, settings, make_store(settings), person, made.id)
        _print_list(views.list_view(session, done))


def close(
    school: str = typer.Argument(..., help="Mã trường / school code"),
    school_year: str = typer.Argument(..., help="Năm học / school year"),
    file_code: list[str] = typer.Option([], "--file-code", help="Chỉ hồ sơ này / only this dossier (repeat)"),
    username: str = AS,
) -> None:
    """Đóng hồ sơ của năm học (hoặc hồ sơ đã nêu) / close the year's open dossiers (or those named)."""
    from retention.dossiers import closing, views

    settings = Settings()
    with open_session(settings) as session:
        person = active_person(session, username)
        data = views.list_view(session, views.list_of(session, person, school, school_year))
        ids = [
            d["id"]
            for d in data["dossiers"]
            if d["state"] == DossierState.open and (not file_code or d["file_code"] in file_code)
        ]
        closed = closing.close(session, make_store(settings), person, ids)
        console.print(f"Đã đóng / closed: [bold]{len(closed)}[/] hồ sơ")


def hand_over(
    school: str = typer.Argument(..., help="Mã trường / school code"),
    school_year: str = typer.Argument(..., help="Năm học / school year"),
    username: str = AS,
) -> None:
    """Giao nộp các hồ sơ đã đóng vào lưu trữ cơ quan / hand the year's closed dossiers to the archive."""
    from retention.dossiers import views

    settings = Settings()
    with open_session(settings) as session:
        person = active_person(session, username)
        data = views.list_view(session, views.list_of(session, person, school, school_year))
        ids = [d["id"] for d in data["dossiers"] if d["state"] == DossierState.closed]
        made = dossier_flow.hand_over(session, settings, make_store(settings), person, ids)
        console.print(f"Đã giao nộp / handed over: [bold]{len(made.dossier_ids)}[/] hồ sơ (đợt / batch {made.id})")


def sips(
    handover_id: int = typer.Argument(..., help="Số đợt giao nộp / the handover's number"),
    out: Path = typer.Option(Path("."), "--out", help="Thư mục lưu / folder to write the ZIPs into"),
    username: str = AS,
) -> None:
    """Tải các gói SIP đã lưu khi giao nộp / download the SIPs kept at a handover (one ZIP a dossier).

    Each ZIP is checked against the SHA-256 recorded when it was kept, and appears under its name
    only whole and matching. Exit 1 while one is still being built or could not be."""
    from retention.dossiers import handover, views

    settings = Settings()
    store, unfinished = make_store(settings), 0
    out.mkdir(parents=True, exist_ok=True)
    with open_session(settings) as session:
        person = active_person(session, username)
        shown = views.handover_view(session, handover.load_handover(session, person, handover_id))
        for package in shown["packages"]:
            if package["state"] != "ready":
                console.print(f"{package['file_code']}: {package['state']} {package['error'] or ''}")
                unfinished += package["state"] != "destroyed"
                continue
            row = handover.kept_package(session, person, handover_id, package["dossier_id"])
            target = out / f"{row.objid}.zip"
            _download(store.get(str(row.store_key)), target, str(row.sha256))
            console.print(f"{package['file_code']}: [bold]{target}[/] SHA-256 {row.sha256}")
    if unfinished:
        console.print(f"{unfinished} gói chưa sẵn sàng / not ready: thử lại sau / try again later")
        raise typer.Exit(1)


def _download(chunks: Iterator[bytes], target: Path, sha256: str) -> None:
    partial = target.with_suffix(".zip.part")  # never a half-written or altered ZIP under its real name
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as f:
            for chunk in chunks:
                digest.update(chunk)
                f.write(chunk)
        if digest.hexdigest() != sha256:
            raise IntegrityFailure(
                f"Gói {target.name} trong kho khác mã băm đã ghi khi lưu; không ghi ra tệp.",
                f"{target.name} in the store differs from the hash recorded when it was kept; not written.",
            )
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)


def unfiled(
    school: str = typer.Argument(..., help="Mã trường / school code"),
    username: str = AS,
) -> None:
    """Tài liệu chưa vào hồ sơ / records in no dossier."""
    from retention.dossiers import filing

    with open_session(Settings()) as session:
        for r in filing.unfiled(session, active_person(session, username), school):
            console.print(f"{r.id}  {r.school_year}  {r.record_type.code}  {r.title}")


def refile(
    record_id: str = typer.Argument(..., help="Mã tài liệu / record id"),
    file_code: str = typer.Argument(..., help="Số, ký hiệu hồ sơ đích / the dossier's file code"),
    reason: str = typer.Option("", "--reason", help="Lý do / reason"),
    username: str = AS,
) -> None:
    """Lưu tài liệu vào hồ sơ khác (ghi nhật ký) / file a record into another open dossier (audited)."""
    from sqlalchemy import select

    from archive.models import Dossier, Record
    from retention.dossiers import filing

    with open_session(Settings()) as session:
        person = active_person(session, username)
        record = session.get(Record, record_id)
        target = session.scalar(
            select(Dossier.id).where(
                Dossier.file_code == file_code, Dossier.school_id == (record.school_id if record else -1)
            )
        )
        filing.refile(session, person, record_id, target or "", reason)
        console.print(f"✓ {record_id} → {file_code}")


def package(
    file_code: str = typer.Argument(..., help="Số, ký hiệu hồ sơ / the dossier's file code"),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Tệp .zip ghi ra / the ZIP to write"),
    school: str | None = typer.Option(None, "--school", help="Mã trường, khi mã hồ sơ trùng / school code"),
    package_type: str = typer.Option("AIP", "--type", help="AIP (lưu giữ) hoặc SIP (giao nộp)"),
    username: str = AS,
) -> None:
    """Đóng gói hồ sơ đã đóng theo TT 05/2025 / package a closed dossier (AIP or SIP, sealed, audited)."""
    import os

    from sqlalchemy import select

    from api.cli.common import fail
    from archive.models import Dossier, School
    from flows.dossier_package import build

    settings = Settings()
    if not out.parent.is_dir():
        fail(f"Không có thư mục {out.parent}.", f"No folder {out.parent}.")
    with open_session(settings) as session:
        person = active_person(session, username)
        query = select(Dossier.id).join(School, School.id == Dossier.school_id).where(Dossier.file_code == file_code)
        found = list(session.scalars(query.where(School.code == school) if school else query))
        if len(found) != 1:
            many = len(found) > 1
            fail(
                "Mã hồ sơ trùng ở nhiều trường: thêm --school." if many else f"Không có hồ sơ {file_code!r}.",
                "That file code exists at several schools: add --school." if many else f"No dossier {file_code!r}.",
            )
        built = build.build(session, settings, make_store(settings), person, found[0], package_type.upper(), out.parent)
        os.replace(built.path, out)  # written beside the target: the rename is atomic
        console.print(f"✓ {out} ({built.package_type}, {built.documents} tài liệu, {built.size} B)")
        console.print(f"SHA-256: {built.sha256}")


def _print_list(data: dict[str, object]) -> None:
    state = {"draft": "dự thảo / draft", "approved": "đã phê duyệt / approved"}.get(str(data["state"]), data["state"])
    console.print(f"Danh mục hồ sơ năm học {data['school_year']} ({data['school_code']}): {state}")
    for d in data["dossiers"]:  # type: ignore[attr-defined]
        console.print(f"  {d['file_code']:<16} {d['state']:<12} {d['records'] or 0:>4}  {d['title']}")
