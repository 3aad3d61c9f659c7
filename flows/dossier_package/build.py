"""A closed (or handed-over) dossier as one package in TT 05/2025/TT-BNV form: an AIP the school
keeps, or a SIP for the archive it hands the dossier to.

A flow: it joins the kernel's package writer and metadata with signing's seal and signature rows.
Layout inside the ZIP's root folder (E-ARK CSIP 2.x, as TT 05/2025 describes it; DESIGN §5):

    METS.xml                                    csip:OAISPACKAGETYPE AIP | SIP
    metadata/descriptive/EAD.xml                the dossier in EAD3, its 18 TT 05 fields inside
    metadata/descriptive/<fileCode>.<n>.xml     each document's record (document or media list)
    metadata/preservation/PREMIS.xml            fixity, formats (PRONOM), signatures, events
    documentation/muc-luc-van-ban.html          the dossier's list of documents, for people
    representations/rep1/METS.xml
    representations/rep1/data/<fileCode>.<n>.<ext>          the original
    representations/rep1/data/<fileCode>.<n>.v<N>.<ext>     its signed copy or rendition
    representations/rep1/data/….p7s                          a detached signature
    schemas/                                    METS, XLink, CSIP extension, PREMIS 3, EAD3, hoso-tt05
    manifest-sha256.txt, seal.p7s               every file's hash, sealed (`hoso verify` reads them)

Every file is streamed from the store into the ZIP while hashed (`PackageWriter.add`); a blob
whose bytes fail their hash stops the build (never sealed around it). The ZIP is written to a
temporary file in `out_dir` and handed to the caller; the build is audited once it is whole.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, blobs, ead, jobs, premis, renditions, tt05, xsd
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, InvalidInput
from archive.models import Dossier, DossierState, Person, Record, RecordStatus, School, Version
from archive.package import PackageWriter
from archive.storage import ObjectStore
from flows.dossier_package import records
from flows.settings import Settings
from retention.dossiers import common
from signing import keys, seal
from signing.models import Signature

VERSION = "0.1.0"
TYPES = ("AIP", "SIP")
PACKABLE = (DossierState.closed, DossierState.handed_over)


@dataclass(frozen=True)
class Built:
    path: Path  # the ZIP, a temporary file the caller moves or removes
    objid: str
    package_type: str
    size: int
    sha256: str
    documents: int
    filename: str  # what to call it when downloaded
    seal_fingerprint: str


def load(
    session: Session, actor: Person, dossier_id: str, package_type: str, checked: bool = False
) -> tuple[Dossier, list[Record]]:
    """The dossier and its documents in their order, or the refusal a person reads. `checked`: the
    actor's right was checked when the work was asked for (a handover's SIP, built later by a job)."""
    if package_type not in TYPES:
        raise InvalidInput("Loại gói phải là AIP hoặc SIP.", "The package type must be AIP or SIP.", field="type")
    dossier = common.load_dossier(session, dossier_id)
    if not checked:
        common.require(
            actor,
            dossier.school_id,
            common.EDITORS,
            "Chỉ văn thư hoặc cán bộ lưu trữ của trường có hồ sơ này được đóng gói hồ sơ.",
            "Only the clerk or archivist of the dossier's school may package it.",
        )
    if dossier.state not in PACKABLE:
        raise Conflict(
            f"Hồ sơ {dossier.file_code} chưa đóng; chỉ đóng gói hồ sơ đã đóng hoặc đã giao nộp.",
            f"Dossier {dossier.file_code} is not closed; only closed or handed-over dossiers are packaged.",
        )
    documents = list(
        session.scalars(
            select(Record)
            .where(Record.dossier_id == dossier.id)
            .order_by(Record.dossier_ordinal.is_(None), Record.dossier_ordinal, Record.created_at, Record.id)
        )
    )
    if not documents:
        raise InvalidInput(
            f"Hồ sơ {dossier.file_code} không có tài liệu nào; không có gì để đóng gói.",
            f"Dossier {dossier.file_code} holds no document; there is nothing to package.",
        )
    return dossier, documents


def build(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    actor: Person,
    dossier_id: str,
    package_type: str = "AIP",
    out_dir: Path | None = None,
    *,
    stopping: threading.Event | None = None,
    checked: bool = False,
) -> Built:
    """Write, seal and audit the package of one dossier; the caller owns the returned file.

    `stopping` (a worker's): the build ends within a MiB once it is set (jobs.Stopped)."""
    dossier, documents = load(session, actor, dossier_id, package_type, checked)
    school = common.school_of(session, dossier.school_id)
    stamp = utcnow()
    objid = (
        f"{records.safe_code(school.code)}-{records.safe_code(dossier.file_code)}-{package_type}-{stamp:%Y%m%dT%H%M%S}"
    )
    key, _self_signed = seal.load(settings)
    fingerprint = keys.fingerprint(key.certificate.dump())
    fd, name = tempfile.mkstemp(dir=out_dir or settings.tmp_dir, suffix=".dossier.zip")
    path = Path(name)
    try:
        with open(fd, "wb") as out:
            label = f"Hồ sơ {dossier.file_code}: {dossier.title}"
            writer = PackageWriter(cast(BinaryIO, out), objid, package_type, label, VERSION)
            try:
                _write(session, store, writer, school, dossier, documents, stamp, stopping)
                writer.finish(seal=lambda manifest: seal.seal(settings, key, manifest))
            except BaseException as e:
                writer.abort()
                if isinstance(e, blobs.PackageRefused):
                    session.rollback()
                    with write_transaction(session):
                        blobs.flag(session, e.mismatch, f"dossier package {objid}: {e.context['path']}", actor.id)
                raise
        built = _audited(session, actor, dossier, path, objid, package_type, len(documents), fingerprint)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        key.close()
    return built


def _audited(
    session: Session,
    actor: Person,
    dossier: Dossier,
    path: Path,
    objid: str,
    package_type: str,
    documents: int,
    fingerprint: str,
) -> Built:
    size, digest = path.stat().st_size, _sha256(path)
    session.commit()  # end the reading transaction before the audit's write (SQLite: no upgrade)
    with write_transaction(session):
        audit.append(
            session,
            actor=actor,
            action="dossier.packaged",
            object_type="dossier",
            object_id=dossier.id,
            school_id=dossier.school_id,
            details={
                "file_code": dossier.file_code,
                "package_type": package_type,
                "objid": objid,
                "documents": documents,
                "size": size,
                "sha256": digest,
            },
        )
    filename = f"ho-so-{records.safe_code(dossier.file_code)}-{package_type}.zip"
    return Built(path, objid, package_type, size, digest, documents, filename, fingerprint)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _write(
    session: Session,
    store: ObjectStore,
    writer: PackageWriter,
    school: School,
    dossier: Dossier,
    documents: list[Record],
    stamp: datetime,
    stopping: threading.Event | None = None,
) -> None:
    """Data first (their hashes are known once written), then what names those hashes."""
    docs: list[records.Document] = []
    events: list[premis.Event] = []
    formats: dict[str, premis.Format] = {}
    for ordinal_fallback, record in enumerate(documents, start=1):
        doc = _add_document(
            session, store, writer, dossier, record, record.dossier_ordinal or ordinal_fallback, stopping
        )
        events += records.events(doc, renditions.tools(session, record.id))
        formats.update(premis.formats_of(doc.versions, doc.paths))
        docs.append(doc)
    writer.add("documentation/muc-luc-van-ban.html", records.contents_page(school, dossier, docs), "text/html")
    for name, data in xsd.package_schemas().items():
        writer.add(f"schemas/{name}", data, "text/xml")
    fields = dict(dossier.tt05 or {})
    fields.setdefault("fileCode", dossier.file_code)
    fields.setdefault("title", dossier.title)
    items = [
        ead.Item(
            f"{dossier.file_code}.{d.ordinal}",
            d.record.title,
            d.record.created_at.date(),
            d.main_path,
            d.record.page_count,
        )
        for d in docs
    ]
    writer.add("metadata/descriptive/EAD.xml", ead.build(fields, (school.code, school.name), items, stamp), "text/xml")
    for doc in docs:
        name = f"metadata/descriptive/{records.safe_code(dossier.file_code)}.{doc.ordinal}.xml"
        writer.add(name, records.record_xml(dossier, doc), "text/xml")
    events.append(
        premis.Event(
            f"package-{writer.objid}",
            "packing",
            datetime.now(UTC),
            f"Đóng gói hồ sơ {dossier.file_code} ({writer.package_type}) theo TT 05/2025/TT-BNV",
            "hoso",
            objects=tuple(e.path for e in writer.under(records.DATA)),
        )
    )
    objects = [e for e in writer.entries if not e.path.startswith("metadata/")]
    agents = premis.software_agents(VERSION, events)
    premis_xml = premis.build(objects, events, agents, formats, records.signature_facts(docs))
    writer.add("metadata/preservation/PREMIS.xml", premis_xml, "text/xml")


def _add_document(
    session: Session,
    store: ObjectStore,
    writer: PackageWriter,
    dossier: Dossier,
    record: Record,
    ordinal: int,
    stopping: threading.Event | None = None,
) -> records.Document:
    versions = list(session.scalars(select(Version).where(Version.record_id == record.id).order_by(Version.number)))
    signatures = list(session.scalars(select(Signature).where(Signature.record_id == record.id).order_by(Signature.id)))
    doc = records.Document(record, ordinal, versions, signatures)
    if record.status == RecordStatus.destroyed:
        return doc  # lawfully destroyed: its record stays, its bytes are gone
    for version in versions:
        path = records.DATA + records.file_name(dossier.file_code, ordinal, version)
        entry = writer.add(
            path, _source(session, store, version.blob_sha256, path, stopping), version.media_type, version.created_at
        )
        doc.paths[str(version.number)] = path
        doc.files.append(
            tt05.PackedFile(version.number, version.kind, path, entry.sha256, entry.size, version.media_type)
        )
        for sig in signatures:
            if sig.version_number == version.number and sig.detached_sha256:
                p7s = f"{path}.p7s"
                made = writer.add(
                    p7s, _source(session, store, sig.detached_sha256, p7s, stopping), "application/pkcs7-signature"
                )
                doc.files.append(
                    tt05.PackedFile(version.number, "signature", p7s, made.sha256, made.size, made.media_type)
                )
    return doc


def _source(
    session: Session, store: ObjectStore, sha256: str, path: str, stopping: threading.Event | None = None
) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        for chunk in blobs.read_verified(session, store, sha256):
            if stopping is not None and stopping.is_set():
                raise jobs.Stopped  # the worker is stopping: the job is queued again, built from the start
            yield chunk

    return blobs.packed(chunks, path)
