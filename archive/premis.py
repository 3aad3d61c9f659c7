"""PREMIS 3 preservation metadata for packages: every file's fixity, and the events that made it.

An inspector's question "was this file ever changed, and who did what to it?" is answered by the
objects (SHA-256, size, format) and events (ingestion, signing, validation, export) written here,
beside the hash-chained audit excerpt in the documentation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree import ElementTree as ET

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


def build(objects: Iterable[Entry], events: Iterable[Event], agents: Iterable[tuple[str, str, str]]) -> bytes:
    """agents: (identifier, name, type) such as ("hoso", "hoso 0.1.0", "software")."""
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
        fmt = ET.SubElement(ET.SubElement(chars, _p("format")), _p("formatDesignation"))
        ET.SubElement(fmt, _p("formatName")).text = entry.media_type
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
