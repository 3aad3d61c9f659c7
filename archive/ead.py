"""The dossier's finding aid in a package: `metadata/descriptive/EAD.xml`, in EAD3 (SAA, 1.1.1).

EAD3 rather than EAD 2002 because EAD3 has a place made for metadata in another schema,
`relation/objectxmlwrap` (any namespace): the 18 TT 05/2025 dossier fields travel inside the EAD as
the circular names them (`archive.tt05`), beside their EAD equivalents (unitid, unittitle,
unitdatestructured, physdescstructured, langmaterial, accessrestrict, appraisal, controlaccess,
scopecontent) that any archival system reads. EAD3 also needs no XLink schema (its links are plain
attributes), and its dates and quantities are structured. The dossier is the `archdesc`
(level="file"); each document an item (`c`, level="item") pointing at its file in rep1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree as ET

from archive import tt05

NS = "http://ead3.archivists.org/schema/"
SCHEMA_FILE = "ead3.xsd"
ET.register_namespace("", NS)


def _e(tag: str) -> str:
    return f"{{{NS}}}{tag}"


@dataclass(frozen=True)
class Item:
    """One document of the dossier as the finding aid lists it."""

    unitid: str  # fileCode.ordinal
    title: str
    when: date
    href: str  # its preserved file, relative to the package root
    pages: int | None


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, _e(tag), attrs)
    if text is not None:
        node.text = text
    return node


def _para(parent: ET.Element, tag: str, text: str) -> None:
    _sub(_sub(parent, tag), "p", text)


def _control(root: ET.Element, fields: Mapping[str, Any], school: tuple[str, str], created: datetime) -> None:
    control = _sub(root, "control")
    _sub(control, "recordid", str(fields["fileCode"]))
    filedesc = _sub(control, "filedesc")
    _sub(_sub(filedesc, "titlestmt"), "titleproper", str(fields["title"]))
    _sub(_sub(filedesc, "publicationstmt"), "publisher", school[1])
    _sub(control, "maintenancestatus", value="new")
    agency = _sub(control, "maintenanceagency")
    _sub(agency, "agencycode", school[0])
    _sub(agency, "agencyname", school[1])
    declaration = _sub(control, "languagedeclaration")
    _sub(declaration, "language", "Tiếng Việt", langcode="vie")
    _sub(declaration, "script", "Latin", scriptcode="Latn")
    convention = _sub(control, "conventiondeclaration")
    _sub(convention, "citation", tt05.CITATION)
    event = _sub(_sub(control, "maintenancehistory"), "maintenanceevent")
    _sub(event, "eventtype", value="created")
    _sub(
        event,
        "eventdatetime",
        created.isoformat(timespec="seconds"),
        standarddatetime=created.isoformat(timespec="seconds"),
    )
    _sub(event, "agenttype", value="machine")
    _sub(event, "agent", "hoso")


def _dates(did: ET.Element, start: Any, end: Any) -> None:
    first, last = (tt05.text_of(tt05.DAY, v) for v in (start, end))
    if not (first or last):
        return
    span = _sub(_sub(did, "unitdatestructured", unitdatetype="inclusive"), "daterange")
    for tag, value in (("fromdate", first), ("todate", last)):
        if value:
            _sub(span, tag, value, standarddate=value)


def _quantity(did: ET.Element, count: Any, unit: str) -> None:
    if count is None:
        return
    physdesc = _sub(did, "physdescstructured", physdescstructuredtype="materialtype", coverage="whole")
    _sub(physdesc, "quantity", str(count))
    _sub(physdesc, "unittype", unit)


def build(fields: Mapping[str, Any], school: tuple[str, str], items: Iterable[Item], created: datetime) -> bytes:
    """fields: the dossier's 18 TT 05 fields; school: (code, name)."""
    root = ET.Element(_e("ead"))
    _control(root, fields, school, created)
    archdesc = _sub(root, "archdesc", level="file")
    did = _sub(archdesc, "did")
    _sub(did, "unitid", str(fields["fileCode"]))
    _sub(did, "unittitle", str(fields["title"]))
    _dates(did, fields.get("startDate"), fields.get("endDate"))
    _sub(_sub(did, "langmaterial"), "language", str(fields.get("language") or "Tiếng Việt"), langcode="vie")
    _quantity(did, fields.get("totalDoc"), "tài liệu")
    _quantity(did, fields.get("numberOfPage"), "trang")
    _sub(_sub(_sub(did, "repository"), "corpname"), "part", school[1])
    _para(archdesc, "accessrestrict", f"Chế độ sử dụng: {fields.get('mode') or 'Thường'}")
    _para(archdesc, "appraisal", f"Thời hạn bảo quản: {fields.get('maintenance') or ''}")
    if fields.get("keyword"):
        access = _sub(archdesc, "controlaccess")
        for word in str(fields["keyword"]).split(", "):
            _sub(_sub(access, "subject"), "part", word)
    if fields.get("description"):
        _para(archdesc, "scopecontent", str(fields["description"]))
    relation = _sub(_sub(archdesc, "relations"), "relation", relationtype="otherrelationtype")
    relation.set("otherrelationtype", "tt05-2025")
    _sub(relation, "relationentry", "Siêu dữ liệu hồ sơ theo TT 05/2025/TT-BNV")
    _sub(relation, "objectxmlwrap").append(tt05.dossier(fields))
    dsc = _sub(archdesc, "dsc")
    for item in items:
        c = _sub(dsc, "c", level="item")
        item_did = _sub(c, "did")
        _sub(item_did, "unitid", item.unitid)
        _sub(item_did, "unittitle", item.title)
        _dates(item_did, item.when, item.when)
        if item.pages:
            _quantity(item_did, item.pages, "trang")
        _sub(item_did, "dao", daotype="borndigital", href=item.href, linktitle=item.unitid)
    return tt05.xml_bytes(root)
