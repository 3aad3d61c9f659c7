"""What a dossier package says about each document: its file names inside the dossier, its TT 05
record (document or media list), its PREMIS events and signature facts.

File names follow TT 05/2025 (DESIGN §5): the dossier's file code + "." + the document's number in
it, then the extension: `2025.02.01.3.pdf`. Later versions sit next to the original with their
version number (`2025.02.01.3.v2.pdf`: the signed copy or the rendition), a detached signature
next to the file it signs (`….pdf.p7s`); which is which is in the record's hoso extension and in
PREMIS.
"""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from archive import descriptive, premis, tt05
from archive.models import Dossier, Record, School, Version, VersionKind
from signing.models import Signature

DATA = "representations/rep1/data/"
MEDIA_PREFIXES = ("video/", "audio/")
RULES = "TT 15/2025/TT-BKHCN; kiểm tra ngoại tuyến bằng `hoso verify`"


def safe_code(file_code: str) -> str:
    """A file code as a file name: what no ZIP tool or file system refuses."""
    return re.sub(r'[\x00-\x1f<>:"/\\|?*]', "_", file_code).strip(" .") or "ho-so"


def extension(version: Version) -> str:
    suffix = PurePosixPath(version.original_filename).suffix.lower().lstrip(".")
    if re.fullmatch(r"[a-z0-9]{1,8}", suffix):
        return suffix
    guessed = mimetypes.guess_extension(version.media_type) or ".bin"
    return guessed.lstrip(".")


def file_name(code: str, ordinal: int, version: Version) -> str:
    stem = f"{safe_code(code)}.{ordinal}"
    return f"{stem}.{extension(version)}" if version.number == 1 else f"{stem}.v{version.number}.{extension(version)}"


@dataclass
class Document:
    """One document of the dossier, as packed."""

    record: Record
    ordinal: int
    versions: list[Version]
    signatures: list[Signature]
    paths: dict[str, str] = field(default_factory=dict)  # version number → package path
    files: list[tt05.PackedFile] = field(default_factory=list)

    @property
    def media(self) -> bool:
        first = self.versions[0] if self.versions else None
        return first is not None and first.media_type.startswith(MEDIA_PREFIXES)

    @property
    def main_path(self) -> str:
        return self.paths.get(str(self.record.current_version)) or next(iter(self.paths.values()), "")


def record_values(dossier: Dossier, doc: Document) -> dict[str, Any]:
    """The circular's elements of one document (or media item), from the 21 fields hoso keeps."""
    record = doc.record
    base = descriptive.document_fields(record, doc.versions, bool(doc.signatures))
    meta = dict(record.doc_metadata or {})
    common = {
        "arcFileCode": dossier.file_code,
        "docOrdinal": doc.ordinal,
        "mode": base["mode"],
        "language": base["language"],
        "format": base["format"],
        "inforSign": base["inforSign"],
        "description": base["description"],
    }
    if doc.media:
        first = doc.versions[0]
        return common | {
            "archivesNumber": f"{dossier.file_code}.{doc.ordinal}",
            "eventName": meta.get("eventName") or record.title,
            "docAttached": ", ".join(PurePosixPath(p).name for p in list(doc.paths.values())[1:]),
            "typeMedia": meta.get("typeMedia") or ("Âm thanh" if first.media_type.startswith("audio/") else "Phim"),
            "movieTitle": meta.get("movieTitle") or record.title,
            "recorder": meta.get("recorder") or record.author.full_name,
            "recordPlace": meta.get("recordPlace") or record.school.name,
            "recordDate": meta.get("recordDate") or first.created_at,
            "playTime": meta.get("playTime"),
            "quality": meta.get("quality"),
        }
    return common | {
        "keyword": base["keyword"],
        "numberOfPage": record.page_count if record.page_count is not None else base["numberOfPage"],
        "confidenceLevel": base["confidenceLevel"],
        "docCode": base["docCode"],
        "typeName": base["typeName"],
        "codeNumber": base["codeNumber"],
        "codeNotation": base["codeNotation"],
        "issuedDate": base["issuedDate"],
        "organName": base["organName"],
        "subject": base["subject"],
        "autograph": base["autograph"],
        "process": base["process"],
    }


def record_xml(dossier: Dossier, doc: Document) -> bytes:
    record = doc.record
    extension_attrs = {
        "recordId": record.id,
        "schoolCode": record.school.code,
        "recordType": record.record_type.code,
        "schoolYear": record.school_year,
    }
    return tt05.document(record_values(dossier, doc), doc.media, extension_attrs, doc.files)


def events(doc: Document, tools: dict[int, str]) -> list[premis.Event]:
    """Ingestion of every version, the renditions' normalization, every signature made."""
    record = doc.record
    found = [
        premis.Event(
            f"ingest-{record.id}-v{v.number}",
            "ingestion",
            v.created_at,
            f"Phiên bản {v.number} ({descriptive_kind(v)}) do {v.created_by.full_name} đưa vào",
            v.created_by.username,
            objects=(doc.paths[str(v.number)],),
        )
        for v in doc.versions
        if str(v.number) in doc.paths
    ]
    for v in doc.versions:
        found += premis.version_events(record.id, v, doc.paths, tools)
    for sig in doc.signatures:
        path = doc.paths.get(str(sig.version_number))
        if path:
            found.append(
                premis.Event(
                    f"sign-{sig.id}",
                    "digital signature generation",
                    sig.signed_at,
                    f"{sig.level}: {sig.signer_subject}",
                    sig.signer_subject[:200],
                    objects=(path,),
                )
            )
    return found


def signature_facts(docs: Iterable[Document]) -> dict[str, list[premis.SignatureFact]]:
    """Package path → the signatures over that file, for PREMIS `signatureInformation`."""
    facts: dict[str, list[premis.SignatureFact]] = {}
    for doc in docs:
        for sig in doc.signatures:
            path = doc.paths.get(str(sig.version_number))
            if not path:
                continue
            detached = bool(sig.detached_sha256)
            facts.setdefault(path, []).append(
                premis.SignatureFact(
                    encoding="CAdES, DER (tệp .p7s đi kèm)" if detached else "PAdES (ETSI.CAdES.detached), trong PDF",
                    signer=sig.signer_subject,
                    method=sig.level,
                    value=f"{PurePosixPath(path).name}.p7s" if detached else "/Contents của chữ ký trong tệp PDF",
                    rules=RULES,
                    properties=(
                        f"Thời điểm ký: {premis.iso(sig.signed_at)}",
                        f"Số hiệu chứng thư: {sig.signer_serial}",
                        f"Tổ chức cấp: {sig.signer_issuer}",
                    ),
                )
            )
    return facts


KIND_VI = {VersionKind.original: "bản gốc", VersionKind.signed: "bản đã ký số", VersionKind.derived: "bản chuyển đổi"}


def descriptive_kind(version: Version) -> str:
    return KIND_VI.get(VersionKind(version.kind), version.kind) if version.kind in set(VersionKind) else version.kind


def contents_page(school: School, dossier: Dossier, docs: Iterable[Document]) -> bytes:
    """The dossier's list of documents (mục lục văn bản), for a person opening the package."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{d.ordinal}</td><td>{e(d.record.title)}</td><td>{e(d.record.author.full_name)}</td>"
        f"<td>{d.record.page_count or ''}</td><td>{e(', '.join(PurePosixPath(p).name for p in d.paths.values()))}"
        "</td></tr>"
        for d in docs
    )
    page = (
        f'<!DOCTYPE html><html lang="vi"><meta charset="utf-8"><title>Mục lục văn bản</title>'
        f"<h1>MỤC LỤC VĂN BẢN</h1><p>{e(school.name)} — hồ sơ số {e(dossier.file_code)}: {e(dossier.title)}</p>"
        f"<table border=1><tr><th>Số thứ tự</th><th>Tên tài liệu</th><th>Người lập</th><th>Số trang</th>"
        f"<th>Tệp trong gói</th></tr>{rows}</table></html>"
    )
    return page.encode()
