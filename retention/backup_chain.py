"""Incremental backups: today's copy holds the whole database and only the objects its base lacks.

TT 05/2025/TT-BNV asks for daily incremental and monthly full backup sets. A province's store holds
hundreds of terabytes that do not change: a blob's key is its SHA-256, so a blob already in an earlier
backup (its manifest line proves the copy there) is the same bytes today and is not copied again.
Everything else is: the database (a full snapshot, small beside the store), sidecars and packages.

An incremental backup names its base by path and by the SHA-256 of the base's manifest, so a base
swapped or edited after the fact breaks the chain loudly instead of restoring other bytes. It also
lists every key the store held (`objects.txt`): a restore brings back exactly those, taken from the
newest backup in the chain that has each one — never a blob the base still has but the archive has
since destroyed by an approved decision.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

OBJECTS_LIST = "objects.txt"
MANIFEST = "manifest-sha256.txt"
IMMUTABLE = "blobs/sha256/"  # content-addressed: the key is the bytes' hash
MAX_CHAIN = 400  # a year of daily increments on one full set, with room; a loop in the chain stops here


def manifest_sha(folder: Path) -> str:
    return hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()


def listed(folder: Path) -> set[str]:
    """Paths (relative to the backup) its manifest vouches for."""
    lines = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    return {line.partition("  ")[2] for line in lines if line}


def where(folder: Path, recorded: dict[str, str]) -> Path:
    """A base as the set recorded it: relative to the set (`../2026-12-01-full`), so sets copied
    together to the second site find each other there; an absolute path from an older set as it is."""
    path = Path(recorded["path"])
    return path if path.is_absolute() else (folder / path).resolve()


def base_of(folder: Path) -> Path | None:
    info = json.loads((folder / "backup.json").read_text(encoding="utf-8"))
    base = info.get("base")
    return where(folder, base) if base else None


def chain(folder: Path) -> list[Path]:
    """The backup and its bases, newest first (only the backups' own records are trusted here)."""
    found = [folder]
    while (base := base_of(found[-1])) is not None and len(found) < MAX_CHAIN:
        found.append(base)
    return found


def problems(src: Path, check_one: Callable[[Path], list[str]]) -> list[str]:
    """What breaks the chain behind `src`: a base gone, swapped or damaged, or an object found nowhere."""
    found: list[str] = []
    newer = src
    for _ in range(MAX_CHAIN):
        info = json.loads((newer / "backup.json").read_text(encoding="utf-8"))
        if not info.get("base"):
            break
        base = where(newer, info["base"])
        if not (base / "backup.json").exists() or not (base / MANIFEST).exists():
            return [*found, f"base backup missing: {base}"]
        if manifest_sha(base) != info["base"]["manifest_sha256"]:
            return [*found, f"base backup changed since {newer.name} was made: {base}"]
        found += [f"{base.name}: {problem}" for problem in check_one(base)]
        newer = base
    else:
        return [*found, f"the chain of base backups behind {src.name} does not end"]
    if (src / OBJECTS_LIST).exists():
        keys = (src / OBJECTS_LIST).read_text(encoding="utf-8").splitlines()
        present = object_files(src)
        missing = [key for key in keys if key not in present]
        found += [f"missing from every backup in the chain: objects/{key}" for key in missing[:20]]
    return found


def base_record(base: Path, dest: Path) -> dict[str, str]:
    """What an incremental backup (to be found at `dest`) writes about its base in backup.json."""
    return {"path": os.path.relpath(base.resolve(), dest.resolve()), "manifest_sha256": manifest_sha(base)}


def structure_problems(base: Path) -> list[str]:
    """What stops a new set from being built on `base`, found without re-reading its bytes: a folder
    that is no finished set, a broken link in its chain, an object the chain does not hold. (Reading
    every byte of the chain each night would read the whole full set: `hoso restore` and `sha256sum
    -c` are where the bytes are checked.)"""
    if not (base / "backup.json").exists() or not (base / MANIFEST).exists():
        return [f"not a finished hoso backup: {base}"]
    return problems(base, lambda _folder: [])


def known_blobs(base: Path) -> set[str]:
    """Content-addressed keys already copied into the base chain, each vouched for by its manifest."""
    known: set[str] = set()
    for folder in chain(base):
        known |= {rel.removeprefix("objects/") for rel in listed(folder) if rel.startswith("objects/" + IMMUTABLE)}
    return known


def write_list(dest: Path, keys: Iterable[str]) -> None:
    (dest / OBJECTS_LIST).write_text("".join(f"{key}\n" for key in keys), encoding="utf-8")


def object_files(src: Path) -> dict[str, Path]:
    """Each key the backed-up store held → the file to restore it from (the newest copy in the chain)."""
    objects = src / "objects"
    if not (src / OBJECTS_LIST).exists():  # a full backup from before incrementals: its folder is the list
        return {p.relative_to(objects).as_posix(): p for p in objects.rglob("*") if p.is_file()}
    files: dict[str, Path] = {}
    folders = chain(src)
    for key in (src / OBJECTS_LIST).read_text(encoding="utf-8").splitlines():
        for folder in folders:
            if (folder / "objects" / key).is_file():
                files[key] = folder / "objects" / key
                break
    return files
