"""Descriptive metadata after TT 05/2025/TT-BNV: the dossier's 18 fields and each document's 21.

The circular's field names are kept as element names (fileCode, maintenance, docCode, …) so an
archivist recognises them; hoso adds what identifies the record inside hoso (id, school, type,
school year, versions with SHA-256). `SCHEMA` is the XSD shipped inside every package.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree as ET

from archive.models import Record, Version

NS = "urn:hoso:metadata:tt05-2025"
ET.register_namespace("hoso", NS)

DOSSIER_FIELDS = (
    "fileCode",
    "title",
    "maintenance",
    "mode",
    "language",
    "startDate",
    "endDate",
    "keyword",
    "totalDoc",
    "numberOfPaper",
    "numberOfPage",
    "format",
    "inforSign",
    "confidenceLevel",
    "paperFileCode",
    "riskRecovery",
    "riskRecoveryStatus",
    "description",
)
DOCUMENT_FIELDS = (
    "docId",
    "docCode",
    "maintenance",
    "typeName",
    "codeNumber",
    "codeNotation",
    "issuedDate",
    "organName",
    "subject",
    "language",
    "numberOfPage",
    "inforSign",
    "keyword",
    "mode",
    "confidenceLevel",
    "autograph",
    "format",
    "riskRecovery",
    "riskRecoveryStatus",
    "process",
    "description",
)


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value)


def maintenance_of(record: Record) -> str:
    rt = record.record_type
    return "Vĩnh viễn" if rt.retention_permanent else f"{rt.retention_years} năm"


def document_fields(record: Record, versions: list[Version], signed: bool) -> dict[str, Any]:
    meta = dict(record.doc_metadata or {})
    current = next((v for v in versions if v.number == record.current_version), None)
    return {
        "docId": record.id,
        "docCode": meta.get("docCode"),
        "maintenance": meta.get("maintenance") or maintenance_of(record),
        "typeName": meta.get("typeName") or record.record_type.name_vi,
        "codeNumber": meta.get("codeNumber"),
        "codeNotation": meta.get("codeNotation"),
        "issuedDate": meta.get("issuedDate") or record.created_at.date(),
        "organName": meta.get("organName") or record.school.name,
        "subject": record.title,
        "language": meta.get("language") or "Tiếng Việt",
        "numberOfPage": meta.get("numberOfPage"),
        "inforSign": meta.get("inforSign") or ("Có chữ ký số" if signed else "Không có chữ ký số"),
        "keyword": meta.get("keyword") or ", ".join(x for x in (record.subject, record.class_name) if x),
        "mode": meta.get("mode") or "Thường",
        "confidenceLevel": meta.get("confidenceLevel") or "Thường",
        "autograph": meta.get("autograph") or record.author.full_name,
        "format": meta.get("format") or (current.media_type if current else ""),
        "riskRecovery": meta.get("riskRecovery") or "Không",
        "riskRecoveryStatus": meta.get("riskRecoveryStatus"),
        "process": meta.get("process") or record.status,
        "description": meta.get("description"),
    }


def build(dossier: dict[str, Any], documents: Iterable[tuple[Record, list[Version], bool, dict[str, str]]]) -> bytes:
    """documents: (record, versions, signed, {version number → package path})."""
    root = ET.Element(_q("records"))
    node = ET.SubElement(root, _q("dossier"))
    for name in DOSSIER_FIELDS:
        ET.SubElement(node, _q(name)).text = _text(dossier.get(name))
    for record, versions, signed, paths in documents:
        doc = ET.SubElement(root, _q("document"))
        for name, value in document_fields(record, versions, signed).items():
            ET.SubElement(doc, _q(name)).text = _text(value)
        extra = ET.SubElement(doc, _q("hoso"))
        for name, value in (
            ("schoolCode", record.school.code),
            ("recordType", record.record_type.code),
            ("schoolYear", record.school_year),
            ("month", record.month),
            ("grade", record.grade),
            ("className", record.class_name),
            ("teacher", record.author.username),
        ):
            ET.SubElement(extra, _q(name)).text = _text(value)
        for version in versions:
            ET.SubElement(
                extra,
                _q("version"),
                {
                    "number": str(version.number),
                    "kind": version.kind,
                    "sha256": version.blob_sha256,
                    "size": str(version.size),
                    "mediaType": version.media_type,
                    "created": version.created_at.isoformat(),
                    "path": paths.get(str(version.number), ""),
                },
            )
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _element(name: str) -> str:
    return f'<xs:element name="{name}" type="xs:string" minOccurs="0"/>'


SCHEMA = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- hoso descriptive metadata: TT 05/2025/TT-BNV dossier (18) and document (21) fields -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{NS}" xmlns="{NS}"
           elementFormDefault="qualified">
  <xs:element name="records">
    <xs:complexType><xs:sequence>
      <xs:element name="dossier"><xs:complexType><xs:sequence>
        {"".join(_element(n) for n in DOSSIER_FIELDS)}
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="document" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:sequence>
        {"".join(_element(n) for n in DOCUMENT_FIELDS)}
        <xs:element name="hoso" minOccurs="0"><xs:complexType><xs:sequence>
          <xs:any processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType></xs:element>
      </xs:sequence></xs:complexType></xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
""".encode()
