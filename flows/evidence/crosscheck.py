"""The hashes a package's own metadata names, held against its files (part of `hoso verify`).

`verify_package` checks every file against `manifest-sha256.txt`, the list the seal covers. The
package names each file's SHA-256 in three more places: its PREMIS fixity, its METS file sections,
and the audit excerpt (the hash each version had when it was stored or signed, in the archive's
hash-chained log). A package rebuilt around one swapped file whose maker rewrote the manifest but
not all of these disagrees with itself, and each disagreement is named here with its file. (A
maker who rewrites all of them is caught by the seal alone: that is why the seal's maker must be
proven.)

A file the audit excerpt does not name (a record restored from its sidecars has no upload event
left) is counted, not refused: the log may lawfully be silent, but it may never disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree as ET

from archive.package import MANIFEST, METS_NS, SEAL, XLINK_NS
from archive.premis import PREMIS_NS

PREMIS = "metadata/preservation/premis.xml"
PREMIS_TT05 = "metadata/preservation/PREMIS.xml"  # a dossier package names it as TT 05/2025 does
METS = "METS.xml"
AUDIT = "documentation/audit/"
MAX_METADATA = 64 * 1024 * 1024  # a metadata file larger than this is not one hoso wrote
_VERSION = re.compile(r"^v(\d+)-")

Problem = tuple[str, str]  # (vi, en)
Hashes = dict[int, set[str]]  # version → the SHA-256 values the audit log recorded for it


@dataclass
class Findings:
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    premis_checked: int = 0
    mets_checked: int = 0
    audit_checked: int = 0  # files whose hash the audit excerpt names and confirms
    audit_silent: list[str] = field(default_factory=list)  # files it does not name

    def fail(self, vi: str, en: str) -> None:
        self.problems.append((vi, en))


def _xml(read: Callable[[str], bytes], rel: str) -> ET.Element:
    data = read(rel)
    if len(data) > MAX_METADATA:
        raise ValueError(f"{rel} is larger than {MAX_METADATA} bytes")
    return ET.fromstring(data)


def _is_mets(rel: str) -> bool:
    return rel == METS or (rel.startswith("representations/") and rel.count("/") == 2 and rel.endswith("/METS.xml"))


def _check_premis(read: Callable[[str], bytes], manifest: dict[str, str], found: Findings) -> None:
    premis_path = PREMIS_TT05 if PREMIS_TT05 in manifest else PREMIS
    if premis_path not in manifest:
        found.fail(
            f"Gói không có siêu dữ liệu bảo quản PREMIS ({premis_path}).", f"The package has no PREMIS ({premis_path})."
        )
        return
    try:
        root = _xml(read, premis_path)
    except (ET.ParseError, ValueError) as e:
        found.fail("Tệp PREMIS hỏng, không đọc được", f"The PREMIS file is damaged: {e}")
        return
    named: dict[str, str] = {}
    for obj in root.iter(f"{{{PREMIS_NS}}}object"):
        path = obj.findtext(f"{{{PREMIS_NS}}}objectIdentifier/{{{PREMIS_NS}}}objectIdentifierValue") or ""
        digest = obj.findtext(f".//{{{PREMIS_NS}}}fixity/{{{PREMIS_NS}}}messageDigest") or ""
        named[path] = digest.strip().lower()
    for path, digest in sorted(named.items()):
        if path not in manifest:
            found.fail(f"PREMIS ghi một tệp gói không có: {path}", f"PREMIS names a file the package lacks: {path}")
        elif digest != manifest[path]:
            found.fail(
                f"SHA-256 của {path} khác với giá trị ghi trong PREMIS.",
                f"The SHA-256 of {path} differs from the one its PREMIS fixity records.",
            )
        else:
            found.premis_checked += 1
    for path in sorted(manifest):
        if path.startswith("metadata/") or _is_mets(path) or path in named:
            continue
        found.fail(f"Tệp không có trong PREMIS: {path}", f"File missing from the PREMIS fixity: {path}")


def _check_mets(read: Callable[[str], bytes], manifest: dict[str, str], found: Findings) -> None:
    files = [p for p in manifest if _is_mets(p)]
    if METS not in files:
        found.fail("Gói không có METS.xml.", "The package has no METS.xml.")
        return
    covered: set[str] = set()
    for mets in sorted(files):
        base = PurePosixPath(mets).parent
        try:
            root = _xml(read, mets)
        except (ET.ParseError, ValueError) as e:
            found.fail(f"Tệp {mets} hỏng, không đọc được", f"{mets} is damaged: {e}")
            continue
        entries = [(n, n.find(f"{{{METS_NS}}}FLocat")) for n in root.iter(f"{{{METS_NS}}}file")]
        entries += [(n, n) for n in root.iter(f"{{{METS_NS}}}mdRef")]
        for node, locator in entries:
            href = locator.get(f"{{{XLINK_NS}}}href", "") if locator is not None else ""
            path = str(base / href) if str(base) != "." else href
            checksum = (node.get("CHECKSUM") or "").lower()
            if path not in manifest:
                found.fail(f"{mets} ghi một tệp gói không có: {path}", f"{mets} names a file the package lacks: {path}")
            elif checksum != manifest[path]:
                found.fail(
                    f"SHA-256 của {path} khác với giá trị ghi trong {mets}.",
                    f"The SHA-256 of {path} differs from the one {mets} records.",
                )
            else:
                covered.add(path)
                found.mets_checked += 1
    for path in sorted(set(manifest) - covered - {METS, MANIFEST, SEAL}):
        found.fail(f"Tệp không có trong METS: {path}", f"File missing from the METS: {path}")


def _version(rel: str) -> int | None:
    """The version a data file holds: hoso names each `v<N>-<original name>` (its `.p7s` too)."""
    match = _VERSION.match(PurePosixPath(rel).name)
    return int(match.group(1)) if match else None


def _named_hashes(events: list[Any], record_id: str, found: Findings, excerpt: str) -> tuple[Hashes, Hashes]:
    """{version: {sha256 the log recorded for its content}}, {version: {sha256 of its .p7s}}."""
    content: Hashes = {}
    detached: Hashes = {}
    for event in events:
        if not isinstance(event, dict):
            continue
        if event.get("record_id") not in (None, record_id):
            found.fail(
                f"Trích nhật ký {excerpt} chứa sự kiện của hồ sơ khác ({event.get('record_id')}).",
                f"The audit excerpt {excerpt} holds an event of another record ({event.get('record_id')}).",
            )
            continue
        details = event.get("details")
        if not isinstance(details, dict) or not isinstance(details.get("version"), int):
            continue
        version = details["version"]
        if isinstance(details.get("sha256"), str):
            content.setdefault(version, set()).add(details["sha256"].lower())
        if isinstance(details.get("detached_sha256"), str):
            detached.setdefault(version, set()).add(details["detached_sha256"].lower())
    return content, detached


def _check_audit(read: Callable[[str], bytes], manifest: dict[str, str], found: Findings) -> None:
    records: dict[str, list[str]] = {}
    for rel in manifest:
        parts = rel.split("/")
        if len(parts) >= 5 and parts[0] == "representations" and parts[2] == "data":
            records.setdefault(parts[3], []).append(rel)
    has_excerpts = any(p.startswith(AUDIT) for p in manifest)
    if not has_excerpts:
        if records:
            found.notes.append(("Gói không kèm trích nhật ký kiểm toán.", "The package carries no audit excerpt."))
        return
    for record_id, files in sorted(records.items()):
        excerpt = f"{AUDIT}{record_id}.json"
        if excerpt not in manifest:
            found.fail(f"Thiếu trích nhật ký của hồ sơ {record_id}.", f"No audit excerpt for record {record_id}.")
            continue
        try:
            events = json.loads(read(excerpt))["events"]
            if not isinstance(events, list):
                raise TypeError("events is not a list")
        except (ValueError, KeyError, TypeError) as e:
            found.fail(f"Trích nhật ký hỏng: {excerpt}", f"Damaged audit excerpt: {excerpt} ({e})")
            continue
        content, detached = _named_hashes(events, record_id, found, excerpt)
        for rel in sorted(files):
            version = _version(rel)
            named = (detached if rel.endswith(".p7s") else content).get(version) if version is not None else None
            if not named:
                found.audit_silent.append(rel)
            elif manifest[rel] not in named:
                found.fail(
                    f"SHA-256 của {rel} khác với giá trị nhật ký kiểm toán ghi cho phiên bản {version}.",
                    f"The SHA-256 of {rel} differs from the one the audit log recorded for version {version}.",
                )
            else:
                found.audit_checked += 1
    if found.audit_silent:
        n = len(found.audit_silent)
        found.notes.append(
            (
                f"{n} tệp không được nhắc tới trong trích nhật ký (ví dụ hồ sơ khôi phục từ bản mô tả), "
                f"chỉ đối chiếu được với bảng băm và PREMIS: {', '.join(found.audit_silent[:3])}",
                f"{n} files are not named by the audit excerpt (e.g. records restored from their sidecars) "
                f"and are checked against the manifest and PREMIS only: {', '.join(found.audit_silent[:3])}",
            )
        )


def cross_check(read: Callable[[str], bytes], manifest: dict[str, str]) -> Findings:
    """`read(rel)` returns a package file's bytes; `manifest` maps each file to its SHA-256 (already
    checked against the files themselves)."""
    found = Findings()
    _check_premis(read, manifest, found)
    _check_mets(read, manifest, found)
    _check_audit(read, manifest, found)
    return found
