"""A dossier package's descriptive metadata, held against its own schemas and files (part of
`hoso verify`).

A dossier package (TT 05/2025 form: `metadata/descriptive/EAD.xml`, `flows.dossier_package`)
describes every document in a record of its own, each naming the files of that document with
their SHA-256. Here: the EAD and every record validate against the schemas the package carries
(`schemas/`, resolved inside the package only); every file a record names is in the package with
that hash; every data file belongs to a record; every EAD item points at a file that is there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from archive import ead, tt05, xsd

EAD = "metadata/descriptive/EAD.xml"
DATA = "representations/rep1/data/"
Problem = tuple[str, str]


@dataclass
class Findings:
    problems: list[Problem] = field(default_factory=list)
    checked: int = 0  # descriptive files valid, and file hashes they name that agree

    def fail(self, vi: str, en: str) -> None:
        self.problems.append((vi, en))


def check(read: Callable[[str], bytes], manifest: dict[str, str]) -> Findings:
    found = Findings()
    if EAD not in manifest:
        return found  # not a dossier package: nothing of this kind to check
    schemas = {p.removeprefix("schemas/"): read(p) for p in manifest if p.startswith("schemas/") and p.endswith(".xsd")}
    try:
        valid = xsd.validator(schemas)
    except Exception as e:  # a missing or broken schema: the package cannot prove its metadata
        found.fail(f"Lược đồ XML đi kèm gói không dùng được: {e}", f"The package's XML schemas cannot be used: {e}")
        return found
    described = [p for p in manifest if p.startswith("metadata/descriptive/") and p.endswith(".xml")]
    named: set[str] = set()
    for rel in sorted(described):
        data = read(rel)
        try:
            errors = valid(data)
        except Exception as e:
            errors = [str(e)]
        if errors:
            found.fail(
                f"{rel} không khớp lược đồ đi kèm gói: {errors[0]}",
                f"{rel} does not validate against the package's schemas: {errors[0]}",
            )
            continue
        found.checked += 1
        root = ET.fromstring(data)
        if rel == EAD:
            _check_items(root, manifest, rel, found)
        else:
            named |= _check_files(root, manifest, rel, found)
    for path in sorted(p for p in manifest if p.startswith(DATA) and p not in named):
        found.fail(
            f"Tệp dữ liệu không thuộc tài liệu nào của hồ sơ: {path}",
            f"A data file belongs to no document of the dossier: {path}",
        )
    return found


def _check_files(root: ET.Element, manifest: dict[str, str], rel: str, found: Findings) -> set[str]:
    named = set()
    for node in root.iter(f"{{{tt05.NS}}}file"):
        path, digest = node.get("path", ""), node.get("sha256", "")
        named.add(path)
        if path not in manifest:
            found.fail(f"{rel} ghi một tệp gói không có: {path}", f"{rel} names a file the package lacks: {path}")
        elif manifest[path] != digest:
            found.fail(
                f"SHA-256 của {path} khác với giá trị ghi trong {rel}.",
                f"The SHA-256 of {path} differs from the one {rel} records.",
            )
        else:
            found.checked += 1
    return named


def _check_items(root: ET.Element, manifest: dict[str, str], rel: str, found: Findings) -> None:
    for dao in root.iter(f"{{{ead.NS}}}dao"):
        href = dao.get("href", "")
        if href and href not in manifest:
            found.fail(
                f"{rel} trỏ tới một tệp gói không có: {href}", f"{rel} points at a file the package lacks: {href}"
            )
