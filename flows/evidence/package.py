"""Building an evidence package: records, their signatures checked, their audit trail, sealed.

A flow (it joins the kernel's records and package writer, signing's validation and seal). It runs as a
job: the ZIP is written to a temporary file on the data disk, file by file, streamed from the
object store, then stored under `exports/<id>.zip`. What the package holds
for each record (DESIGN §2.4, issue #5):

    representations/rep1/data/<record>/v<N>-<file>          every version (original, rendition, signed)
    representations/rep1/data/<record>/v<N>-<file>.p7s      detached signatures (CAdES)
    documentation/signatures/<record>.json                  signature validation, per file
    documentation/audit/<record>.json                       the record's audit events, hash-chained
    documentation/bao-cao-chung-cu.html                     the report, in Vietnamese, for people
    documentation/trust/*.pem                               the roots the reports were checked against
    metadata/descriptive/hoso-records.xml                   TT 05/2025 dossier and document fields
    metadata/preservation/premis.xml                        fixity and events
    manifest-sha256.txt + seal.p7s                          every file's hash, signed by the archive
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, blobs, descriptive, jobs, premis, renditions
from archive.calendar import VN_TIME
from archive.db import utcnow, write_transaction
from archive.exceptions import HosoError
from archive.models import AuditEvent, Record, RecordStatus, Version, VersionKind
from archive.package import PackageWriter
from flows.state import AppState
from search.models import EvidenceExport, ExportState
from signing import keys, seal, trust, validate
from signing.models import Signature

log = logging.getLogger(__name__)
EXPORT_JOB = "evidence_export"
VERSION = "0.1.0"
REPORT = "documentation/bao-cao-chung-cu.html"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    keep_trailing_newline=False,
)


def safe_name(name: str) -> str:
    """A file name safe in any ZIP tool: NFC, no folders, no control or reserved characters."""
    name = unicodedata.normalize("NFC", name).replace("/", "_").replace("\\", "_")
    name = re.sub(r'[\x00-\x1f<>:"|?*]', "_", name).strip(" .") or "tep"
    return name[:150]


def export_key(export_id: str) -> str:
    return f"exports/{export_id}.zip"


class Builder:
    def __init__(self, state: AppState, export_id: str) -> None:
        self.state, self.export_id = state, export_id
        self.settings, self.store = state.settings, state.store
        self.events: list[premis.Event] = []
        self.reports: dict[str, dict[str, Any]] = {}  # the report speaks Vietnamese (KIND_VI); the JSON, codes
        self.formats: dict[str, premis.Format] = {}  # package path → PRONOM format
        self.tools: dict[str, dict[int, str]] = {}  # record id → derived version → its tool
        self.seal_fingerprint = ""

    # -- reading what goes in --------------------------------------------------------------------

    def _load(self, session: Session) -> tuple[EvidenceExport, list[tuple[Record, list[Version], list[Signature]]]]:
        export = session.get(EvidenceExport, self.export_id)
        assert export is not None
        records = {r.id: r for r in session.scalars(select(Record).where(Record.id.in_(export.record_ids)))}
        out = []
        for record_id in export.record_ids:
            record = records.get(record_id)
            if record is None:
                continue  # destroyed lawfully since the request; the report lists what is present
            versions = list(
                session.scalars(select(Version).where(Version.record_id == record_id).order_by(Version.number))
            )
            sigs = list(session.scalars(select(Signature).where(Signature.record_id == record_id)))
            self.tools[record_id] = renditions.tools(session, record_id)
            out.append((record, versions, sigs))
        return export, out

    def _audit_excerpt(self, session: Session, record: Record) -> dict[str, Any]:
        events = session.scalars(select(AuditEvent).where(AuditEvent.record_id == record.id).order_by(AuditEvent.seq))
        head = session.get(audit.AuditHead, 1)
        return {
            "record_id": record.id,
            "algorithm": "SHA-256 over sorted-key JSON of each event (UTF-8), including prev_hash",
            "chain_head_at_export": {"seq": head.seq, "hash": head.hash} if head else None,
            "events": [{**audit.event_body(e), "hash": e.hash} for e in events],
        }

    # -- building ----------------------------------------------------------------------------------

    def build(self) -> None:
        with self.state.sessions() as session:
            export, items = self._load(session)
            title = export.title
            requester = export.requested_by.username
            decisions = list(export.decision_numbers or [])
            excerpts = {record.id: self._audit_excerpt(session, record) for record, _, _ in items}
            session.commit()
        seal_key, self_signed = seal.load(self.settings)
        self.seal_fingerprint = keys.fingerprint(seal_key.certificate.dump())
        objid = f"hoso-evidence-{self.export_id}"
        fd, name = tempfile.mkstemp(dir=self.settings.tmp_dir, suffix=".evidence.zip")
        path = Path(name)
        try:
            with open(fd, "wb") as out:
                writer = PackageWriter(out, objid, "DIP", f"Gói chứng cứ: {title}", VERSION)
                try:
                    documents = self._write_records(writer, items, excerpts)
                    self._write_documentation(writer, title, requester, decisions, items, self_signed)
                    self._write_metadata(writer, title, documents)
                    writer.finish(seal=lambda manifest: seal.seal(self.settings, seal_key, manifest))
                except BaseException:
                    writer.abort()
                    raise
            files = len(writer.entries) + 2
            self._store(path, files)
        finally:
            seal_key.close()
            path.unlink(missing_ok=True)

    def _write_records(
        self,
        writer: PackageWriter,
        items: list[tuple[Record, list[Version], list[Signature]]],
        excerpts: dict[str, dict[str, Any]],
    ) -> list[tuple[Record, list[Version], bool, dict[str, str]]]:
        documents = []
        for record, versions, sigs in items:
            if self.state.stopping.is_set():
                raise jobs.Stopped  # the server is stopping: built again from the start at the next one
            folder = f"representations/rep1/data/{record.id}/"
            paths: dict[str, str] = {}
            report: dict[str, Any] = {"record_id": record.id, "title": record.title, "files": []}
            if record.status == RecordStatus.destroyed:  # lawfully destroyed: its metadata and hashes, no bytes
                report["destroyed"] = "Tài liệu đã được hủy theo quyết định hủy; chỉ còn siêu dữ liệu và mã băm."
                report["versions"] = [{"number": v.number, "sha256": v.blob_sha256, "size": v.size} for v in versions]
                versions = []
            for version in versions:
                file_path = folder + safe_name(f"v{version.number}-{version.original_filename}")
                paths[str(version.number)] = file_path
                mine = [s for s in sigs if s.version_number == version.number]
                report["files"].append(self._write_version(writer, record, version, mine, file_path))
                self.events += premis.version_events(record.id, version, paths, self.tools.get(record.id, {}))
            self.formats.update(premis.formats_of(versions, paths))
            self.reports[record.id] = report
            writer.add(f"documentation/signatures/{record.id}.json", _json(report), "application/json")
            writer.add(f"documentation/audit/{record.id}.json", _json(excerpts[record.id]), "application/json")
            documents.append((record, versions, bool(sigs), paths))
        return documents

    def _write_version(
        self, writer: PackageWriter, record: Record, version: Version, sigs: list[Signature], file_path: str
    ) -> dict[str, Any]:
        """One version's bytes, its detached signatures, their PREMIS events; its report, signatures checked."""
        sha = version.blob_sha256
        entry = writer.add(file_path, self._packed(sha, file_path), version.media_type, version.created_at)
        self.events.append(
            premis.Event(
                id=f"ingest-{record.id}-v{version.number}",
                type="ingestion",
                when=version.created_at,
                detail=f"Phiên bản {version.number} ({version.kind}) do {version.created_by.username} tải lên",
                agent=version.created_by.username,
                objects=(entry.path,),
            )
        )
        file_report: dict[str, Any] = {"path": file_path, "version": version.number, "kind": version.kind}
        if version.media_type == "application/pdf":
            file_report["signatures"] = self._check_pdf(sha)
        for sig in sigs:
            if not sig.detached_sha256:
                continue
            p7s_path = file_path + ".p7s"
            writer.add(
                p7s_path, self._packed(sig.detached_sha256, p7s_path), "application/pkcs7-signature", sig.created_at
            )
            file_report["detached_signature"] = p7s_path
            file_report["signatures"] = self._check_detached(sha, sig.detached_sha256)
        for sig in sigs:
            self.events.append(
                premis.Event(
                    id=f"sign-{sig.id}",
                    type="digital signature generation",
                    when=sig.signed_at,
                    detail=f"{sig.level}: {sig.signer_subject}",
                    agent=sig.signer_subject[:200],
                    objects=(file_path,),
                )
            )
        if "signatures" in file_report:
            ok = validate.all_ok(file_report["signatures"])
            self.events.append(
                premis.Event(
                    id=f"validate-{record.id}-v{version.number}",
                    type="validation",
                    when=datetime.now(UTC),
                    detail="Kiểm tra chữ ký số khi xuất gói",
                    agent="hoso",
                    outcome="success" if ok else "failure",
                    objects=(file_path,),
                )
            )
        return file_report

    def _packed(self, sha256: str, path: str) -> Callable[[], Iterator[bytes]]:
        """A blob's bytes as they go into the ZIP at `path` (see `_blob` and `blobs.packed`)."""
        return blobs.packed(lambda: self._blob(sha256), path)

    def _blob(self, sha256: str) -> Iterator[bytes]:
        """A blob as packed: the version hoso wrote, its hash checked as it goes into the ZIP, so a
        package is never sealed around altered bytes (BlobMismatch stops the build); ended at the
        next MiB when the server is stopping."""
        for chunk in blobs.open_verified(self.state.sessions, self.store, sha256):
            if self.state.stopping.is_set():
                raise jobs.Stopped
            yield chunk

    def _spool(self, sha256: str) -> Path:
        with tempfile.NamedTemporaryFile(dir=self.settings.tmp_dir, suffix=".check", delete=False) as out:
            for chunk in blobs.get_pinned(self.state.sessions, self.store, sha256):
                out.write(chunk)
        return Path(out.name)

    def _check_pdf(self, sha256: str) -> list[dict[str, Any]]:
        path = self._spool(sha256)
        try:
            with open(path, "rb") as data:
                return validate.validate_pdf(self.settings, data, online=True)
        except Exception as e:  # a damaged or encrypted PDF: say so in the report, keep building
            return [
                {
                    "kind": "error",
                    "verdict": validate.Verdict.unchecked,
                    "summary_vi": f"{validate.Verdict.unchecked.vi}: {getattr(e, 'vi', e)}",
                }
            ]
        finally:
            path.unlink(missing_ok=True)

    def _check_detached(self, sha256: str, p7s_sha256: str) -> list[dict[str, Any]]:
        path = self._spool(sha256)
        try:
            p7s = b"".join(blobs.get_pinned(self.state.sessions, self.store, p7s_sha256))
            with open(path, "rb") as content:
                return validate.validate_detached(self.settings, content, p7s, online=True)
        except Exception as e:
            return [
                {
                    "kind": "error",
                    "verdict": validate.Verdict.unchecked,
                    "summary_vi": f"{validate.Verdict.unchecked.vi}: {getattr(e, 'vi', e)}",
                }
            ]
        finally:
            path.unlink(missing_ok=True)

    def _write_documentation(
        self,
        writer: PackageWriter,
        title: str,
        requester: str,
        decisions: list[str],
        items: list[tuple[Record, list[Version], list[Signature]]],
        self_signed: bool,
    ) -> None:
        for n, root in enumerate(trust.load_roots(self.settings)):
            from asn1crypto import pem

            writer.add(
                f"documentation/trust/root-{n + 1}.pem", pem.armor("CERTIFICATE", root.dump()), "application/x-pem-file"
            )
        writer.add(REPORT, self._html(title, requester, decisions, items, self_signed), "text/html")
        writer.add("schemas/hoso-records.xsd", descriptive.SCHEMA, "text/xml")

    def _write_metadata(
        self, writer: PackageWriter, title: str, documents: list[tuple[Record, list[Version], bool, dict[str, str]]]
    ) -> None:
        dates = [r.created_at for r, _, _, _ in documents] or [utcnow()]
        dossier = {
            "fileCode": f"hoso-evidence-{self.export_id}",
            "title": title,
            "maintenance": "Theo thời hạn của từng tài liệu",
            "mode": "Hạn chế sử dụng",
            "language": "Tiếng Việt",
            "startDate": min(dates).date(),
            "endDate": max(dates).date(),
            "keyword": "chứng cứ thanh tra",
            "totalDoc": len(documents),
            "format": "Điện tử",
            "inforSign": "Có chữ ký số" if any(s for _, _, s, _ in documents) else "Không",
            "confidenceLevel": "Thường",
            "riskRecovery": "Không",
            "description": "Gói chứng cứ do hoso xuất, niêm phong bằng chữ ký số của hệ thống.",
        }
        writer.add("metadata/descriptive/hoso-records.xml", descriptive.build(dossier, documents), "text/xml")
        now = datetime.now(UTC)
        self.events.append(
            premis.Event(
                id=f"export-{self.export_id}",
                type="dissemination",
                when=now,
                detail=f"Xuất gói chứng cứ: {title}",
                agent="hoso",
                objects=tuple(e.path for e in writer.under("representations/")),
            )
        )
        objects = [e for e in writer.entries if not e.path.startswith("metadata/")]
        premis_xml = premis.build(objects, self.events, premis.software_agents(VERSION, self.events), self.formats)
        writer.add("metadata/preservation/premis.xml", premis_xml, "text/xml")

    def _html(
        self,
        title: str,
        requester: str,
        decisions: list[str],
        items: list[tuple[Record, list[Version], list[Signature]]],
        self_signed: bool,
    ) -> bytes:
        """The report for people (`templates/report.html`, every value escaped by Jinja)."""
        rows = [
            {
                "title": record.title,
                "author": record.author.full_name,
                "school": record.school.name,
                "record_type": record.record_type.name_vi,
                "school_year": record.school_year,
                "files": [file_row(f) for f in self.reports[record.id]["files"]],
            }
            for record, _versions, _sigs in items
        ]
        page = render_report(
            title=title,
            package_id=f"hoso-evidence-{self.export_id}",
            requester=requester,
            decisions=decisions,
            exported_at=local_time(datetime.now(UTC).isoformat()),
            self_signed=self_signed,
            fingerprint=self.seal_fingerprint,
            rows=rows,
        )
        return (page + "\n").encode()

    def _store(self, path: Path, files: int) -> None:
        size = path.stat().st_size
        with open(path, "rb") as f:  # the store hashes what it writes: the ZIP is read once
            put = self.store.put(export_key(self.export_id), f, size, content_type="application/zip", replace=True)
        with self.state.sessions() as session, write_transaction(session):
            export = session.get(EvidenceExport, self.export_id)
            assert export is not None
            export.state, export.size, export.sha256 = ExportState.ready, put.size, put.sha256
            export.store_key, export.files, export.finished_at = export_key(self.export_id), files, utcnow()
            audit.append(
                session,
                actor=export.requested_by,
                action="evidence.built",
                object_type="evidence_export",
                object_id=export.id,
                details={"size": size, "sha256": export.sha256, "records": len(export.record_ids)},
            )


def render_report(**values: Any) -> str:
    """The package's report page from its values (`templates/report.html`; Jinja escapes every one)."""
    return _TEMPLATES.get_template("report.html").render(**values)


def _good(signature: dict[str, Any]) -> bool:
    """Whether the report marks a signature ✔: its typed verdict holds (a TEST certificate's too)."""
    return validate.holds(signature)


def file_row(file_report: dict[str, Any]) -> dict[str, Any]:
    """One file of the report's table: its name, kind, and a mark per signature."""
    marks = [
        {
            "good": _good(s),
            "summary": s.get("summary_vi", ""),
            "who": (s.get("signer") or {}).get("common_name", ""),
            "when": local_time(s.get("timestamp_time") or s.get("signing_time")),
            "trusted": bool(s.get("trusted")),
        }
        for s in file_report.get("signatures", [])
    ]
    kind = KIND_VI.get(file_report["kind"], file_report["kind"])
    return {"name": file_report["path"].split("/")[-1], "kind": kind, "marks": marks}


KIND_VI = {VersionKind.original: "bản gốc", VersionKind.signed: "bản đã ký số", VersionKind.derived: "bản chuyển đổi"}


def local_time(iso: str | None) -> str:
    """An ISO time as an inspector in Vietnam reads it: 16/11/2026 09:00 (GMT+7)."""
    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return f"{when.astimezone(VN_TIME):%d/%m/%Y %H:%M}"


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1, default=str).encode()


def run(state: AppState, export_id: str) -> None:
    """The job: build, or mark failed with the reason (a person sees it on the export)."""
    with state.sessions() as session, write_transaction(session):
        export = session.get(EvidenceExport, export_id)
        if export is None or export.state == ExportState.ready:
            return
        export.state, export.error = ExportState.building, None
    try:
        Builder(state, export_id).build()
    except jobs.Stopped:
        with state.sessions() as session, write_transaction(session):
            export = session.get(EvidenceExport, export_id)
            assert export is not None
            export.state = ExportState.queued  # not failed: its job goes back to the queue
        raise
    except Exception as e:
        log.exception("evidence export %s failed", export_id)
        if isinstance(e, blobs.PackageRefused):
            blobs.report(state.sessions, e.mismatch, f"evidence export {export_id}: {e.context['path']}")
        # a person reads the reason on the export: a domain error in both languages, else its repr
        reason = f"{e.vi} / {e.en}" if isinstance(e, HosoError) else repr(e)
        with state.sessions() as session, write_transaction(session):
            export = session.get(EvidenceExport, export_id)
            assert export is not None
            export.state, export.error, export.finished_at = ExportState.failed, reason[:2000], utcnow()
        raise
