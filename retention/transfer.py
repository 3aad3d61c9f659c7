"""Transfer (nộp lưu): permanent records leave for the archives as an E-ARK SIP, sealed.

NĐ 30/2020 Phụ lục VI and the Archives Law: records to be kept permanently are submitted to the
unit's archive within one year after the work ended; hoso counts the year from the end of the
school year (due 31/12 of the following year) and alerts 30 days ahead. A transfer takes one
school year of one school: its permanent records, every version (and detached signature), the
TT 05/2025 metadata and PREMIS, written as a CSIP-shaped SIP (`archive.package`) and sealed like
an evidence package, so `hoso verify` checks it too.
"""

from __future__ import annotations

import hashlib
import html
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import audit, blobs, calendar, descriptive, premis, renditions
from archive.db import utcnow, write_transaction
from archive.exceptions import InvalidInput, NotFound
from archive.models import Person, Record, School, Version, VersionKind
from archive.package import PackageWriter
from archive.storage import ObjectStore
from retention import holds
from retention.models import RecordRetention, RetentionState, Transfer
from retention.schedule import end_year

ALERT_DAYS = 30
VERSION = "0.1.0"
Extra = Callable[[Session, Record], list[tuple[str, str, str]]]  # (file name, sha256, media type)
Seal = Callable[[bytes], bytes]
Document = tuple[Record, list[Version], bool, dict[str, str]]  # (record, versions, signed, paths in the package)


def due_date(school_year: str) -> date:
    return date(end_year(school_year) + 1, 12, 31)


@dataclass(frozen=True)
class Due:
    school_year: str
    records: int
    due: date
    alert: bool  # within 30 days, or overdue

    def as_dict(self) -> dict[str, Any]:
        return {
            "school_year": self.school_year,
            "records": self.records,
            "due": self.due.isoformat(),
            "alert": self.alert,
        }


def due_for(session: Session, school: School, today: date | None = None) -> list[Due]:
    """Permanent records not yet transferred, by school year, with their due date."""
    today = today or calendar.today()
    counts = dict(
        session.execute(
            select(Record.school_year, func.count())
            .join(RecordRetention, RecordRetention.record_id == Record.id)
            .where(
                Record.school_id == school.id, RecordRetention.permanent, RecordRetention.state == RetentionState.active
            )
            .group_by(Record.school_year)
        ).all()
    )
    return [
        Due(year, n, due_date(year), today >= due_date(year) - timedelta(days=ALERT_DAYS))
        for year, n in sorted(counts.items())
    ]


def build(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    school: School,
    school_year: str,
    extra: Extra,
    seal: Seal,
) -> Transfer:
    """Write and store the SIP of a school year's permanent records; they become `transferred`."""
    records = _transferable(session, school, school_year)
    transfer_id = hashlib.sha256(f"{school.code}/{school_year}/{utcnow().isoformat()}".encode()).hexdigest()[:16]
    objid = f"hoso-transfer-{school.code}-{school_year}-{transfer_id}"
    path = _write(session, store, tmp_dir, actor, school, school_year, records, extra, seal, transfer_id, objid)
    try:
        size = path.stat().st_size
        key = f"transfers/{objid}.zip"
        with open(path, "rb") as f:  # the store hashes what it writes: the ZIP is read once
            put = store.put(key, f, size, content_type="application/zip")
    finally:
        path.unlink(missing_ok=True)
    ids = [r.id for r in records]
    with write_transaction(session):
        transfer = Transfer(
            id=transfer_id,
            school_id=school.id,
            school_year=school_year,
            record_ids=ids,
            store_key=key,
            size=size,
            sha256=put.sha256,
            created_by_id=actor.id,
            created_at=utcnow(),
        )
        session.add(transfer)
        for row in session.scalars(select(RecordRetention).where(RecordRetention.record_id.in_(ids))):
            row.state = RetentionState.transferred
        audit.append(
            session,
            actor=actor,
            action="records.transferred",
            object_type="transfer",
            object_id=transfer_id,
            school_id=school.id,
            details={"school_year": school_year, "records": ids, "sha256": transfer.sha256, "size": size},
        )
    return transfer


def _transferable(session: Session, school: School, school_year: str) -> list[Record]:
    """The school year's permanent records still here, refused if there are none or any is held."""
    records = list(
        session.scalars(
            select(Record)
            .join(RecordRetention, RecordRetention.record_id == Record.id)
            .where(
                Record.school_id == school.id,
                Record.school_year == school_year,
                RecordRetention.permanent,
                RecordRetention.state == RetentionState.active,
            )
            .order_by(Record.created_at)
        )
    )
    if not records:
        raise InvalidInput(
            f"Không có hồ sơ vĩnh viễn nào của năm học {school_year} chờ nộp lưu.",
            f"No permanent record of {school_year} is waiting to be transferred.",
        )
    held = [r.title for r in records if holds.holds_on(session, r)]
    if held:
        raise InvalidInput(
            f"Hồ sơ đang bị tạm giữ, chưa nộp lưu được: {', '.join(held[:5])}.",
            f"Records under legal hold cannot be transferred yet: {', '.join(held[:5])}.",
        )
    return records


def _write(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    school: School,
    school_year: str,
    records: list[Record],
    extra: Extra,
    seal: Seal,
    transfer_id: str,
    objid: str,
) -> Path:
    """The sealed SIP in a temporary file (removed, and a bad blob flagged, if it cannot be finished)."""
    events: list[premis.Event] = []
    formats: dict[str, premis.Format] = {}
    with tempfile.NamedTemporaryFile(dir=tmp_dir, suffix=".sip.zip", delete=False) as out:
        path = Path(out.name)
        # the wrapper is the file it wraps, read and written as bytes
        writer = PackageWriter(
            cast(BinaryIO, out), objid, "SIP", f"Nộp lưu {school.name} năm học {school_year}", VERSION
        )
        try:
            documents = _add_records(session, store, writer, records, extra, events, formats)
            _add_list(writer, school, school_year, documents)
            writer.add("schemas/hoso-records.xsd", descriptive.SCHEMA, "text/xml")
            writer.add(
                "metadata/descriptive/hoso-records.xml",
                descriptive.build(_dossier(school, school_year, records, objid), documents),
                "text/xml",
            )
            events.append(
                premis.Event(
                    f"transfer-{transfer_id}",
                    "transfer",
                    utcnow(),
                    f"Nộp lưu năm học {school_year}",
                    actor.username,
                    objects=tuple(e.path for e in writer.under("representations/")),
                )
            )
            objects = [e for e in writer.entries if not e.path.startswith("metadata/")]
            writer.add(
                "metadata/preservation/premis.xml",
                premis.build(objects, events, premis.software_agents(VERSION, events), formats),
                "text/xml",
            )
            writer.finish(seal=seal)
        except BaseException as e:
            writer.abort()
            path.unlink(missing_ok=True)
            if isinstance(e, blobs.PackageRefused):
                session.rollback()
                with write_transaction(session):
                    blobs.flag(session, e.mismatch, f"transfer {objid}: {e.context['path']}", actor.id)
            raise
    return path


def _verified(session: Session, store: ObjectStore, sha: str) -> Callable[[], Iterator[bytes]]:
    """A package source reading one blob, its hash checked as it is packed: never sealed around bad bytes."""
    return lambda: blobs.read_verified(session, store, sha)


def _add_records(
    session: Session,
    store: ObjectStore,
    writer: PackageWriter,
    records: list[Record],
    extra: Extra,
    events: list[premis.Event],
    formats: dict[str, premis.Format],
) -> list[Document]:
    """Every version (and extra file) of each record under representations/rep1/data/<record id>/."""
    documents: list[Document] = []
    for record in records:
        versions = list(session.scalars(select(Version).where(Version.record_id == record.id).order_by(Version.number)))
        folder = f"representations/rep1/data/{record.id}/"
        paths = {}
        for v in versions:
            file_path = f"{folder}v{v.number}-{_safe(v.original_filename)}"
            source = blobs.packed(_verified(session, store, v.blob_sha256), file_path)
            entry = writer.add(file_path, source, v.media_type, v.created_at)
            paths[str(v.number)] = entry.path
            events.append(
                premis.Event(
                    f"ingest-{record.id}-v{v.number}",
                    "ingestion",
                    v.created_at,
                    f"Phiên bản {v.number} ({v.kind})",
                    v.created_by.username,
                    objects=(entry.path,),
                )
            )
        tools = renditions.tools(session, record.id)
        for v in versions:
            events.extend(premis.version_events(record.id, v, paths, tools))
        formats.update(premis.formats_of(versions, paths))
        for name, sha, media_type in extra(session, record):
            extra_path = f"{folder}{_safe(name)}"
            writer.add(extra_path, blobs.packed(_verified(session, store, sha), extra_path), media_type)
        documents.append((record, versions, any(v.kind == VersionKind.signed for v in versions), paths))
    return documents


def _add_list(writer: PackageWriter, school: School, school_year: str, documents: list[Document]) -> None:
    """The list of the transfer (mục lục hồ sơ nộp lưu), for a person opening the package."""
    rows = "".join(
        f"<tr><td>{n}</td><td>{html.escape(r.title)}</td><td>{html.escape(r.record_type.name_vi)}</td>"
        f"<td>{html.escape(r.author.full_name)}</td><td>{len(v)}</td></tr>"
        for n, (r, v, _s, _p) in enumerate(documents, start=1)
    )
    writer.add(
        "documentation/muc-luc-nop-luu.html",
        (
            f'<!DOCTYPE html><html lang="vi"><meta charset="utf-8"><title>Mục lục hồ sơ nộp lưu</title>'
            f"<h1>MỤC LỤC HỒ SƠ, TÀI LIỆU NỘP LƯU</h1><p>{html.escape(school.name)} — năm học {school_year}"
            f"</p><table border=1><tr><th>TT</th><th>Tên tài liệu</th><th>Loại</th><th>Người lập</th>"
            f"<th>Số phiên bản</th></tr>{rows}</table></html>"
        ).encode(),
        "text/html",
    )


def _dossier(school: School, school_year: str, records: list[Record], objid: str) -> dict[str, Any]:
    """The transfer's dossier metadata (TT 05/2025/TT-BNV)."""
    dates = [r.created_at for r in records]
    return {
        "fileCode": objid,
        "title": f"Hồ sơ nộp lưu năm học {school_year}",
        "maintenance": "Vĩnh viễn",
        "mode": "Thường",
        "language": "Tiếng Việt",
        "startDate": min(dates).date(),
        "endDate": max(dates).date(),
        "totalDoc": len(records),
        "format": "Điện tử",
        "confidenceLevel": "Thường",
        "riskRecovery": "Không",
        "description": f"Nộp lưu vào lưu trữ cơ quan: {school.name}.",
    }


def load(session: Session, transfer_id: str) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound("Không có gói nộp lưu này.", "No such transfer package.")
    return transfer


def _safe(name: str) -> str:
    return "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in name)[:150] or "tep"
