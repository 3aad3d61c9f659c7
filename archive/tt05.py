"""The TT 05/2025/TT-BNV element sets of a dossier package: the dossier (18 fields), each document
and each media item, as flat element lists with the circular's element names (DESIGN §5, the facts
of 2026-12).

The circular's own XSD could not be found: the names are those reported from its appendices and
are kept exactly, pending an archivist's confirmation (`CONFIRMED`). The XSD that a package ships
for them (`schema()`) is generated from the lists below, so the element names exist in one place
only; a hoso extension (`hoso`: the record's id and every file of the document with its SHA-256)
follows the circular's elements, typed too, so a validator checks the whole record strictly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree as ET

NS = "urn:hoso:tt05-2025"
SCHEMA_FILE = "hoso-tt05.xsd"
CITATION = "TT 05/2025/TT-BNV, phụ lục về siêu dữ liệu hồ sơ, tài liệu lưu trữ số"
CONFIRMED = False  # an archivist has not confirmed the element names against the circular's text
ET.register_namespace("tt05", NS)

COUNT, DAY, TEXT = "xs:nonNegativeInteger", "xs:date", "xs:string"
DOSSIER: tuple[tuple[str, str], ...] = (
    ("fileCode", TEXT),
    ("title", TEXT),
    ("maintenance", TEXT),
    ("mode", TEXT),
    ("language", TEXT),
    ("startDate", DAY),
    ("endDate", DAY),
    ("keyword", TEXT),
    ("totalDoc", COUNT),
    ("numberOfPaper", COUNT),
    ("numberOfPage", COUNT),
    ("format", TEXT),
    ("inforSign", TEXT),
    ("confidenceLevel", TEXT),
    ("paperFileCode", TEXT),
    ("riskRecovery", TEXT),
    ("riskRecoveryStatus", TEXT),
    ("description", TEXT),
)
DOCUMENT: tuple[tuple[str, str], ...] = (
    ("arcFileCode", TEXT),
    ("mode", TEXT),
    ("language", TEXT),
    ("keyword", TEXT),
    ("numberOfPage", COUNT),
    ("format", TEXT),
    ("inforSign", TEXT),
    ("confidenceLevel", TEXT),
    ("description", TEXT),
    ("docCode", TEXT),
    ("docOrdinal", COUNT),
    ("typeName", TEXT),
    ("codeNumber", TEXT),
    ("codeNotation", TEXT),
    ("issuedDate", DAY),
    ("organName", TEXT),
    ("subject", TEXT),
    ("autograph", TEXT),
    ("process", TEXT),
)
MEDIA: tuple[tuple[str, str], ...] = (
    ("arcFileCode", TEXT),
    ("mode", TEXT),
    ("language", TEXT),
    ("format", TEXT),
    ("inforSign", TEXT),
    ("description", TEXT),
    ("docOrdinal", COUNT),
    ("archivesNumber", TEXT),
    ("eventName", TEXT),
    ("docAttached", TEXT),
    ("typeMedia", TEXT),
    ("movieTitle", TEXT),
    ("recorder", TEXT),
    ("recordPlace", TEXT),
    ("recordDate", DAY),
    ("playTime", TEXT),
    ("quality", TEXT),
)
REQUIRED = {"fileCode", "title", "arcFileCode", "docOrdinal"}  # what identifies a record: never empty


@dataclass(frozen=True)
class PackedFile:
    """One file of a document inside the package (the hoso extension of its record)."""

    version: int
    kind: str  # original | signed | derived | signature
    path: str  # package path
    sha256: str
    size: int
    media_type: str


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def text_of(kind: str, value: Any) -> str | None:
    """The element's text, or None when it has no value (the element is left out)."""
    if value is None or value == "":
        return None
    if kind == DAY:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            return None  # a typed date that is no date: not carried as one
    if kind == COUNT:
        return str(int(value)) if str(value).isdigit() else None
    return str(value)


def element(root: str, fields: Iterable[tuple[str, str]], values: Mapping[str, Any]) -> ET.Element:
    node = ET.Element(_q(root))
    for name, kind in fields:
        text = text_of(kind, values.get(name))
        if text is None and name in REQUIRED:
            raise ValueError(f"{root}.{name} has no value")
        if text is not None:
            ET.SubElement(node, _q(name)).text = text
    return node


def dossier(values: Mapping[str, Any]) -> ET.Element:
    return element("dossier", DOSSIER, values)


def document(
    values: Mapping[str, Any], media: bool, extension: Mapping[str, str], files: Iterable[PackedFile]
) -> bytes:
    """One document's (or media item's) record as a standalone XML file."""
    node = element("media" if media else "document", MEDIA if media else DOCUMENT, values)
    hoso = ET.SubElement(node, _q("hoso"), dict(extension))
    for f in files:
        ET.SubElement(
            hoso,
            _q("file"),
            {
                "version": str(f.version),
                "kind": f.kind,
                "path": f.path,
                "sha256": f.sha256,
                "size": str(f.size),
                "mediaType": f.media_type,
            },
        )
    return xml_bytes(node)


def xml_bytes(node: ET.Element) -> bytes:
    ET.indent(node)
    data: bytes = ET.tostring(node, encoding="utf-8", xml_declaration=True)
    return data


EXTENSION_ATTRIBUTES = ("recordId", "schoolCode", "recordType", "schoolYear")


def _sequence(fields: Iterable[tuple[str, str]]) -> str:
    optional = ' minOccurs="0"'
    return "".join(f'<xs:element name="{n}" type="{k}"{"" if n in REQUIRED else optional}/>' for n, k in fields)


def schema() -> bytes:
    """The XSD of the element sets above, shipped as `schemas/hoso-tt05.xsd` in every dossier package."""
    attributes = "".join(f'<xs:attribute name="{a}" type="xs:string"/>' for a in EXTENSION_ATTRIBUTES)
    files = (
        '<xs:attribute name="version" type="xs:positiveInteger" use="required"/>'
        '<xs:attribute name="kind" type="xs:string" use="required"/>'
        '<xs:attribute name="path" type="xs:string" use="required"/>'
        '<xs:attribute name="sha256" use="required"><xs:simpleType><xs:restriction base="xs:string">'
        '<xs:pattern value="[0-9a-f]{64}"/></xs:restriction></xs:simpleType></xs:attribute>'
        '<xs:attribute name="size" type="xs:nonNegativeInteger" use="required"/>'
        '<xs:attribute name="mediaType" type="xs:string" use="required"/>'
    )
    hoso = (
        '<xs:element name="hoso" minOccurs="0"><xs:complexType><xs:sequence>'
        f'<xs:element name="file" minOccurs="0" maxOccurs="unbounded"><xs:complexType>{files}</xs:complexType>'
        f"</xs:element></xs:sequence>{attributes}</xs:complexType></xs:element>"
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- hoso: the TT 05/2025/TT-BNV element sets of a dossier package (dossier 18, document 19, media 17
     elements), named as reported from the circular's appendices; pending an archivist's confirmation. -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{NS}" xmlns="{NS}"
           elementFormDefault="qualified">
  <xs:element name="dossier"><xs:complexType><xs:sequence>{_sequence(DOSSIER)}</xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="document"><xs:complexType><xs:sequence>{_sequence(DOCUMENT)}{hoso}</xs:sequence>
  </xs:complexType></xs:element>
  <xs:element name="media"><xs:complexType><xs:sequence>{_sequence(MEDIA)}{hoso}</xs:sequence>
  </xs:complexType></xs:element>
</xs:schema>
"""
    return text.encode()
