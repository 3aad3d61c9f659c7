"""E-ARK CSIP-shaped packages (TT 05/2025/TT-BNV): a ZIP with METS, PREMIS, data, SHA-256 everywhere.

Used for what leaves the archive: an inspector's evidence package (DIP) and a transfer to the
archives (nộp lưu, SIP). The package is written straight into a ZIP file on disk, entry by entry,
each file streamed from its source while it is hashed, so a 2 GB recording never sits in memory.
Hashes are known once a file is written; that is why the order is data first, then the metadata
that names those hashes, then the METS files, then `manifest-sha256.txt` (every entry) and,
optionally, `seal.p7s` (a detached signature over the manifest, made by the caller's sealer).

Layout (inside one root folder named after the package id, as E-ARK packages are zipped):

    METS.xml                                   root METS (CSIP 2.1 + DIP/SIP profile)
    metadata/descriptive/…, metadata/preservation/premis.xml (PREMIS.xml in a dossier package)
    documentation/…                            reports people read
    schemas/…                                  XSDs of our own metadata
    representations/rep1/METS.xml, representations/rep1/data/…
    manifest-sha256.txt, seal.p7s              outside METS: they cover METS itself
"""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO
from xml.etree import ElementTree as ET

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
for _prefix, _uri in (("mets", METS_NS), ("xlink", XLINK_NS), ("csip", CSIP_NS), ("xsi", XSI_NS)):
    ET.register_namespace(_prefix, _uri)

PROFILES = {
    "DIP": "https://earkdip.dilcis.eu/profile/E-ARK-DIP-v2-1-0.xml",
    "SIP": "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml",  # the exact URL the SIP profile's SIP2 demands
    "AIP": "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP-v2-1-0.xml",
}
CONTENT_TYPE = "hoso-school-records"  # csip:OTHERCONTENTINFORMATIONTYPE: no CITS covers school records
MANIFEST = "manifest-sha256.txt"
SEAL = "seal.p7s"
STORED = {"application/pdf", "video/mp4", "video/quicktime", "video/webm", "image/png", "image/jpeg"}
CHUNK = 1024 * 1024

Source = bytes | Callable[[], Iterable[bytes]]


def _m(tag: str) -> str:
    return f"{{{METS_NS}}}{tag}"


def _x(attr: str) -> str:
    return f"{{{XLINK_NS}}}{attr}"


def _c(attr: str) -> str:
    return f"{{{CSIP_NS}}}{attr}"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Entry:
    """One file written into the package."""

    path: str  # relative to the package root, with forward slashes
    media_type: str
    created: datetime
    size: int = 0
    sha256: str = ""
    id: str = field(default_factory=lambda: f"ID{uuid.uuid4()}")


class PackageWriter:
    """Writes one CSIP package into `out` (a seekable file); nothing is kept in memory but the entry list."""

    def __init__(self, out: BinaryIO, objid: str, package_type: str, label: str, software_version: str) -> None:
        if package_type not in PROFILES:
            raise ValueError(f"package type {package_type!r}")
        self.objid, self.package_type, self.label = objid, package_type, label
        self.software_version = software_version
        self.created = datetime.now(UTC)
        self.zip = zipfile.ZipFile(out, "w", allowZip64=True)
        self.entries: list[Entry] = []
        self._closed = False

    # -- writing files -----------------------------------------------------------------------------

    def add(self, path: str, source: Source, media_type: str, created: datetime | None = None) -> Entry:
        """Stream one file into the package, hashing it as it goes."""
        if path.startswith("/") or ".." in path.split("/") or path in (MANIFEST, SEAL):
            raise ValueError(f"bad package path {path!r}")
        entry = Entry(path=path, media_type=media_type, created=created or self.created)
        info = zipfile.ZipInfo(f"{self.objid}/{path}", date_time=_zip_time(entry.created))
        info.compress_type = zipfile.ZIP_STORED if media_type in STORED else zipfile.ZIP_DEFLATED
        digest = hashlib.sha256()
        with self.zip.open(info, "w", force_zip64=True) as target:
            for chunk in _chunks(source):
                digest.update(chunk)
                target.write(chunk)
                entry.size += len(chunk)
        entry.sha256 = digest.hexdigest()
        self.entries.append(entry)
        return entry

    def under(self, prefix: str) -> list[Entry]:
        return [e for e in self.entries if e.path.startswith(prefix)]

    # -- METS --------------------------------------------------------------------------------------

    def _root(self, objid: str, label: str) -> ET.Element:
        mets = ET.Element(
            _m("mets"),
            {
                "OBJID": objid,
                "LABEL": label,
                "TYPE": "Mixed",
                _c("CONTENTINFORMATIONTYPE"): "OTHER",
                _c("OTHERCONTENTINFORMATIONTYPE"): CONTENT_TYPE,
                "PROFILE": PROFILES[self.package_type],
                f"{{{XSI_NS}}}schemaLocation": f"{METS_NS} http://www.loc.gov/standards/mets/mets.xsd",
            },
        )
        header = ET.SubElement(
            mets,
            _m("metsHdr"),
            {
                "CREATEDATE": iso(self.created),
                "LASTMODDATE": iso(self.created),
                "RECORDSTATUS": "NEW",
                _c("OAISPACKAGETYPE"): self.package_type,
            },
        )
        agent = ET.SubElement(header, _m("agent"), {"ROLE": "CREATOR", "TYPE": "OTHER", "OTHERTYPE": "SOFTWARE"})
        ET.SubElement(agent, _m("name")).text = "hoso (Hồ sơ số)"
        ET.SubElement(agent, _m("note"), {_c("NOTETYPE"): "SOFTWARE VERSION"}).text = self.software_version
        return mets

    @staticmethod
    def _file(group: ET.Element, entry: Entry, href: str) -> None:
        node = ET.SubElement(
            group,
            _m("file"),
            {
                "ID": entry.id,
                "MIMETYPE": entry.media_type,
                "SIZE": str(entry.size),
                "CREATED": iso(entry.created),
                "CHECKSUM": entry.sha256.upper(),
                "CHECKSUMTYPE": "SHA-256",
            },
        )
        ET.SubElement(node, _m("FLocat"), {"LOCTYPE": "URL", _x("type"): "simple", _x("href"): href})

    @staticmethod
    def _md_ref(parent: ET.Element, entry: Entry, href: str, mdtype: str, other: str | None = None) -> None:
        attrs = {
            "LOCTYPE": "URL",
            _x("type"): "simple",
            _x("href"): href,
            "MDTYPE": mdtype,
            "MIMETYPE": entry.media_type,
            "SIZE": str(entry.size),
            "CREATED": iso(entry.created),
            "CHECKSUM": entry.sha256.upper(),
            "CHECKSUMTYPE": "SHA-256",
        }
        if other:
            attrs["OTHERMDTYPE"] = other
        ET.SubElement(parent, _m("mdRef"), attrs)

    def _representation_mets(self, rep: str) -> bytes:
        prefix = f"representations/{rep}/"
        mets = self._root(f"{self.objid}-{rep}", f"{self.label} — {rep}")
        files = ET.SubElement(mets, _m("fileSec"), {"ID": f"fileSec-{rep}"})
        group = ET.SubElement(
            files,
            _m("fileGrp"),
            {
                "ID": f"fgrp-{rep}-data",
                "USE": "Data",
                _c("CONTENTINFORMATIONTYPE"): "OTHER",
                _c("OTHERCONTENTINFORMATIONTYPE"): CONTENT_TYPE,
            },
        )
        for entry in self.under(prefix + "data/"):
            self._file(group, entry, entry.path[len(prefix) :])
        struct = ET.SubElement(mets, _m("structMap"), {"ID": f"structMap-{rep}", "TYPE": "PHYSICAL", "LABEL": "CSIP"})
        top = ET.SubElement(struct, _m("div"), {"ID": f"div-{rep}", "LABEL": rep})
        data = ET.SubElement(top, _m("div"), {"ID": f"div-{rep}-data", "LABEL": "Data"})
        ET.SubElement(data, _m("fptr"), {"FILEID": f"fgrp-{rep}-data"})
        return _xml(mets)

    def _package_mets(self, reps: list[tuple[str, Entry]]) -> bytes:
        mets = self._root(self.objid, self.label)
        dmd_ids, amd_ids = [], []
        for n, entry in enumerate(self.under("metadata/descriptive/")):
            dmd = ET.SubElement(
                mets, _m("dmdSec"), {"ID": f"dmd-{n}", "CREATED": iso(entry.created), "STATUS": "CURRENT"}
            )
            ead = entry.path.endswith("/EAD.xml")  # the dossier's finding aid (TT 05/2025 packages)
            self._md_ref(dmd, entry, entry.path, "EAD" if ead else "OTHER", None if ead else "TT05-2025")
            dmd_ids.append(f"dmd-{n}")
        preservation = self.under("metadata/preservation/")
        if preservation:
            amd = ET.SubElement(mets, _m("amdSec"), {"ID": "amdSec-1"})
            for n, entry in enumerate(preservation):
                digi = ET.SubElement(amd, _m("digiprovMD"), {"ID": f"digiprov-{n}", "STATUS": "CURRENT"})
                self._md_ref(digi, entry, entry.path, "PREMIS")
                amd_ids.append(f"digiprov-{n}")
        files = ET.SubElement(mets, _m("fileSec"), {"ID": "fileSec-1"})
        groups: dict[str, str] = {}
        for use, prefix in (("Documentation", "documentation/"), ("Schemas", "schemas/")):
            if not self.under(prefix):
                continue  # CSIP66: a file group holds files (a dossier package has no documentation/)
            group = ET.SubElement(
                files,
                _m("fileGrp"),
                {
                    "ID": f"fgrp-{use.lower()}",
                    "USE": use,
                    _c("CONTENTINFORMATIONTYPE"): "OTHER",
                    _c("OTHERCONTENTINFORMATIONTYPE"): CONTENT_TYPE,
                },
            )
            for entry in self.under(prefix):
                self._file(group, entry, entry.path)
            groups[use] = f"fgrp-{use.lower()}"
        for rep, mets_entry in reps:
            group = ET.SubElement(
                files,
                _m("fileGrp"),
                {
                    "ID": f"fgrp-rep-{rep}",
                    "USE": f"Representations/{rep}",
                    _c("CONTENTINFORMATIONTYPE"): "OTHER",
                    _c("OTHERCONTENTINFORMATIONTYPE"): CONTENT_TYPE,
                },
            )
            self._file(group, mets_entry, mets_entry.path)
        struct = ET.SubElement(mets, _m("structMap"), {"ID": "structMap-1", "TYPE": "PHYSICAL", "LABEL": "CSIP"})
        top = ET.SubElement(struct, _m("div"), {"ID": "div-package", "LABEL": self.objid})
        meta_attrs = {"ID": "div-metadata", "LABEL": "Metadata"}
        if dmd_ids:
            meta_attrs["DMDID"] = " ".join(dmd_ids)
        if amd_ids:
            meta_attrs["ADMID"] = " ".join(amd_ids)
        ET.SubElement(top, _m("div"), meta_attrs)
        for use, group_id in groups.items():
            div = ET.SubElement(top, _m("div"), {"ID": f"div-{use.lower()}", "LABEL": use})
            ET.SubElement(div, _m("fptr"), {"FILEID": group_id})
        reps_div = ET.SubElement(top, _m("div"), {"ID": "div-representations", "LABEL": "Representations"})
        for rep, _ in reps:
            ET.SubElement(reps_div, _m("fptr"), {"FILEID": f"fgrp-rep-{rep}"})
        for rep, mets_entry in reps:
            rep_div = ET.SubElement(reps_div, _m("div"), {"ID": f"div-rep-{rep}", "LABEL": f"Representations/{rep}"})
            ET.SubElement(
                rep_div,
                _m("mptr"),
                {"LOCTYPE": "URL", _x("type"): "simple", _x("href"): mets_entry.path, _x("title"): f"fgrp-rep-{rep}"},
            )
        return _xml(mets)

    # -- closing -----------------------------------------------------------------------------------

    def finish(self, seal: Callable[[bytes], bytes] | None = None) -> bytes:
        """Write the METS files, the manifest and the seal; returns the manifest's bytes."""
        reps = sorted({e.path.split("/")[1] for e in self.under("representations/")})
        rep_mets = [
            (rep, self.add(f"representations/{rep}/METS.xml", self._representation_mets(rep), "text/xml"))
            for rep in reps
        ]
        self.add("METS.xml", self._package_mets(rep_mets), "text/xml")
        manifest = "".join(f"{e.sha256}  {e.path}\n" for e in sorted(self.entries, key=lambda e: e.path)).encode()
        self._raw(MANIFEST, manifest)
        if seal is not None:
            self._raw(SEAL, seal(manifest))
        self.zip.close()
        self._closed = True
        return manifest

    def _raw(self, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(f"{self.objid}/{name}", date_time=_zip_time(self.created))
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)

    def abort(self) -> None:
        if not self._closed:
            self.zip.close()
            self._closed = True


def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for start in range(0, len(source), CHUNK):
            yield source[start : start + CHUNK]
        return
    yield from source()


def _zip_time(value: datetime) -> tuple[int, int, int, int, int, int]:
    t = value.astimezone(UTC)
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)


def _xml(element: ET.Element) -> bytes:
    ET.indent(element)
    data: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return data


# -- reading (for verifiers: no database, no server) ------------------------------------------------


def parse_manifest(data: bytes) -> dict[str, str]:
    """`sha256  path` lines → {path: sha256}; a malformed line is a ValueError."""
    out: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        digest, sep, path = line.partition("  ")
        if not sep or len(digest) != 64 or not path:
            raise ValueError(f"manifest line {number} is malformed")
        out[path] = digest
    return out
