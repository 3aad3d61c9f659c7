"""PREMIS 3 preservation metadata for packages: every file's fixity, and the events that made it.

An inspector's question "was this file ever changed, and who did what to it?" is answered by the
objects (SHA-256, size, format) and events (ingestion, signing, validation, export) written here,
beside the hash-chained audit excerpt in the documentation. A file's format carries its PRONOM
identifier where fido found one (`archive/formats.py`), and a rendition (a derived version, e.g. the
PDF of a DOCX) has a `normalization` event linking the original to it, naming the tool that made
it: the original is what was received and signed; the rendition is what a reader can open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree import ElementTree as ET

from archive.models import Version, VersionKind
from archive.package import Entry, iso

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("premis", PREMIS_NS)


def _p(tag: str) -> str:
    return f"{{{PREMIS_NS}}}{tag}"


@dataclass(frozen=True)
class Event:
    id: str
    type: str  # PREMIS event type vocabulary: ingestion, digital signature generation, validation, …
    when: datetime
    detail: str
    agent: str
    outcome: str = "success"
    objects: tuple[str, ...] = field(default_factory=tuple)  # package paths


def _identifier(parent: ET.Element, kind: str, value: str) -> None:
    node = ET.SubElement(parent, _p(f"{kind}Identifier"))
    ET.SubElement(node, _p(f"{kind}IdentifierType")).text = "local"
    ET.SubElement(node, _p(f"{kind}IdentifierValue")).text = value


# what a rendition is, by the kind of file it is (a PDF otherwise): a recording's streaming copy and poster
_MADE = {"video": "Bản xem trực tuyến (H.264/AAC, tối đa 480p)", "image": "Ảnh đại diện (một khung hình)"}


def version_events(record_id: str, version: Version, paths: Mapping[str, str], tools: Mapping[int, str]) -> list[Event]:
    """A rendition's normalization event: from the version it was made from (its package path in
    `paths`, by version number) to it, with the tool that made it (`tools`, by derived version number)."""
    source = paths.get(str(version.derived_from)) if version.derived_from is not None else None
    if version.kind != VersionKind.derived or source is None:
        return []
    tool = tools.get(version.number, "hoso")
    made = _MADE.get(version.media_type.split("/", 1)[0], "Bản PDF để xem và ký")
    return [
        Event(
            id=f"normalize-{record_id}-v{version.number}",
            type="normalization",
            when=version.created_at,
            detail=f"{made} của phiên bản {version.derived_from}, do {tool} tạo; tệp gốc giữ nguyên",
            agent=tool,
            objects=(source, paths[str(version.number)]),
        )
    ]


def software_agents(hoso_version: str, events: Iterable[Event]) -> list[tuple[str, str, str]]:
    """hoso, and every tool a normalization event names (LibreOffice, for a DOCX's PDF)."""
    tools = sorted({e.agent for e in events if e.type == "normalization"} - {"hoso"})
    return [("hoso", f"hoso {hoso_version}", "software"), *[(t, t, "software") for t in tools]]


Format = tuple[str, str]  # (PRONOM identifier, its format name)


@dataclass(frozen=True)
class SignatureFact:
    """A signature over a file, as PREMIS 3 `signatureInformation` records it."""

    encoding: str  # e.g. "PAdES (ETSI.CAdES.detached), trong tệp PDF" or "CAdES, DER (.p7s)"
    signer: str  # the certificate's subject
    method: str  # the level: PAdES-B-LT, CAdES-B-T, …
    value: str  # where the signature value is: the .p7s path, or the PDF's /Contents
    rules: str  # how to check it
    properties: tuple[str, ...] = ()


def formats_of(versions: Iterable[Version], paths: Mapping[str, str]) -> dict[str, Format]:
    """Package path → PRONOM format, for the versions fido identified."""
    return {
        paths[str(v.number)]: (v.format_puid, v.format_name or "")
        for v in versions
        if v.format_puid and str(v.number) in paths
    }


def _signature(obj: ET.Element, fact: SignatureFact) -> None:
    node = ET.SubElement(ET.SubElement(obj, _p("signatureInformation")), _p("signature"))
    ET.SubElement(node, _p("signatureEncoding")).text = fact.encoding
    ET.SubElement(node, _p("signer")).text = fact.signer
    ET.SubElement(node, _p("signatureMethod")).text = fact.method
    ET.SubElement(node, _p("signatureValue")).text = fact.value
    ET.SubElement(node, _p("signatureValidationRules")).text = fact.rules
    for text in fact.properties:
        ET.SubElement(node, _p("signatureProperties")).text = text


def build(
    objects: Iterable[Entry],
    events: Iterable[Event],
    agents: Iterable[tuple[str, str, str]],
    formats: Mapping[str, Format] | None = None,
    signatures: Mapping[str, list[SignatureFact]] | None = None,
) -> bytes:
    """agents: (identifier, name, type) such as ("hoso", "hoso 0.1.0", "software"); formats: package
    path → (PUID, name), written as PRONOM's `formatRegistry` entry; signatures: path → the
    signatures over that file (`signatureInformation`)."""
    root = ET.Element(_p("premis"), {"version": "3.0"})
    for entry in objects:
        obj = ET.SubElement(root, _p("object"), {f"{{{XSI_NS}}}type": "premis:file"})
        _identifier(obj, "object", entry.path)
        chars = ET.SubElement(obj, _p("objectCharacteristics"))
        ET.SubElement(chars, _p("compositionLevel")).text = "0"
        fixity = ET.SubElement(chars, _p("fixity"))
        ET.SubElement(fixity, _p("messageDigestAlgorithm")).text = "SHA-256"
        ET.SubElement(fixity, _p("messageDigest")).text = entry.sha256
        ET.SubElement(chars, _p("size")).text = str(entry.size)
        fmt_node = ET.SubElement(chars, _p("format"))
        fmt = ET.SubElement(fmt_node, _p("formatDesignation"))
        ET.SubElement(fmt, _p("formatName")).text = entry.media_type
        pronom = (formats or {}).get(entry.path)
        if pronom is not None:
            registry = ET.SubElement(fmt_node, _p("formatRegistry"))
            ET.SubElement(registry, _p("formatRegistryName")).text = "PRONOM"
            ET.SubElement(registry, _p("formatRegistryKey")).text = pronom[0]
            ET.SubElement(registry, _p("formatRegistryRole")).text = "identification"
        for fact in (signatures or {}).get(entry.path, []):
            _signature(obj, fact)
    for event in events:
        node = ET.SubElement(root, _p("event"))
        _identifier(node, "event", event.id)
        ET.SubElement(node, _p("eventType")).text = event.type
        ET.SubElement(node, _p("eventDateTime")).text = iso(event.when)
        ET.SubElement(ET.SubElement(node, _p("eventDetailInformation")), _p("eventDetail")).text = event.detail
        ET.SubElement(ET.SubElement(node, _p("eventOutcomeInformation")), _p("eventOutcome")).text = event.outcome
        agent = ET.SubElement(node, _p("linkingAgentIdentifier"))
        ET.SubElement(agent, _p("linkingAgentIdentifierType")).text = "local"
        ET.SubElement(agent, _p("linkingAgentIdentifierValue")).text = event.agent
        for path in event.objects:
            link = ET.SubElement(node, _p("linkingObjectIdentifier"))
            ET.SubElement(link, _p("linkingObjectIdentifierType")).text = "local"
            ET.SubElement(link, _p("linkingObjectIdentifierValue")).text = path
    for identifier, name, kind in agents:
        node = ET.SubElement(root, _p("agent"))
        _identifier(node, "agent", identifier)
        ET.SubElement(node, _p("agentName")).text = name
        ET.SubElement(node, _p("agentType")).text = kind
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data
