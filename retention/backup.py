"""Backups (TT 05/2025/TT-BNV asks for at least two independent copies): `hoso backup DEST`, `hoso restore SRC`.

A backup is a folder anyone can read without hoso: `db/<table>.jsonl` (every row, read in one
snapshot transaction, so the copy is consistent), `objects/<key>` (every blob, sidecar and package
in the store), `backup.json` (when, which schema revision, how many rows and objects) and
`manifest-sha256.txt` over all of it. Blobs are written before the database commits that names
them, so every blob the snapshot refers to is already in the store when the objects are copied;
objects added after the snapshot are harmless extras.

Restoring requires an empty database at the same schema revision (`hoso db upgrade` makes one),
inserts the rows table by table in dependency order, copies the objects back (each blob checked
against its address), re-applies the storage locks, and reports the hashes it verified.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Integer, LargeBinary, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from archive.db import Base, utcnow
from archive.exceptions import Conflict, IntegrityFailure, InvalidInput
from archive.models import Blob, Record
from archive.storage import ObjectStore
from retention import backup_chain

Progress = Callable[[str, int, int], None]  # (phase, done, total)
FORMAT = "hoso-backup/1"
CHUNK = 1024 * 1024


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    return value


def _back(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$b64" in value:
            return base64.b64decode(value["$b64"])
    return value


def _sha_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def backup(
    engine: Engine, store: ObjectStore, dest: Path, progress: Progress | None = None, base: Path | None = None
) -> dict[str, Any]:
    """Write a consistent copy of the database and the store into `dest` (which must be empty or absent);
    with `base`, an incremental one: the blobs already in the base chain are not copied again."""
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInput(f"Thư mục sao lưu {dest} không trống.", f"The backup folder {dest} is not empty.")
    known: set[str] = set()
    if base is not None:
        damaged = backup_chain.structure_problems(base)
        if damaged:
            raise IntegrityFailure(
                f"Bản sao lưu gốc {base} hỏng: {'; '.join(damaged[:3])}.",
                f"The base backup {base} is damaged: {'; '.join(damaged[:3])}.",
            )
        known = backup_chain.known_blobs(base)
    # written beside its name and renamed once its manifest is written: a run that dies leaves no set
    # under the name, only a hidden partial folder that the next run clears — never a base for tomorrow
    partial = dest.parent / f".{dest.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    info = _write(engine, store, partial, progress, known)
    info["base"] = backup_chain.base_record(base, dest) if base is not None else None
    _finish(partial, info)
    if dest.exists():
        dest.rmdir()  # empty, checked above
    os.replace(partial, dest)
    return info


def _write(
    engine: Engine, store: ObjectStore, dest: Path, progress: Progress | None, known: set[str]
) -> dict[str, Any]:
    (dest / "db").mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    tables = Base.metadata.sorted_tables
    with engine.connect() as conn:
        # one transaction, one snapshot for every table (SQLite: the engine's BEGIN; PostgreSQL: repeatable read)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        for n, table in enumerate(tables, start=1):
            rows = 0
            with open(dest / "db" / f"{table.name}.jsonl", "w", encoding="utf-8") as out:
                for row in conn.execute(select(table)).mappings():
                    out.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
                    rows += 1
            counts[table.name] = rows
            if progress:
                progress("db", n, len(tables))
        conn.rollback()
    keys = sorted(store.list(""))
    backup_chain.write_list(dest, keys)
    for n, key in enumerate(keys, start=1):
        if key in known:
            continue
        target = dest / "objects" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        version_id = _blob_version(engine, key)  # a blob's own version, not what was put over it
        with open(target, "wb") as out:
            for chunk in store.get(key, version_id=version_id):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if key.startswith("blobs/sha256/") and _sha_file(target) != key.rsplit("/", 1)[-1]:
            raise IntegrityFailure(
                f"Tệp {key} trong kho không khớp mã băm: chạy hoso fixity trước khi sao lưu.",
                f"{key} in the store does not match its hash: run hoso fixity before backing up.",
            )
        if progress:
            progress("objects", n, len(keys))
    info = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "revision": revision,
        "rows": counts,
        "objects": len(keys),
        "objects_in_base": len(known.intersection(keys)),
    }
    return info


def _finish(dest: Path, info: dict[str, Any]) -> None:
    """backup.json, then the manifest over every file, each flushed to disk before the set is named."""
    (dest / "backup.json").write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = [
        f"{_sha_file(p)}  {p.relative_to(dest).as_posix()}"
        for p in sorted(_files(dest))
        if p.name != "manifest-sha256.txt"
    ]
    manifest = dest / "manifest-sha256.txt"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for path in (dest / "backup.json", manifest):
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _blob_version(engine: Engine, key: str) -> str | None:
    if not key.startswith("blobs/sha256/"):
        return None
    with engine.connect() as conn:
        return conn.execute(select(Blob.version_id).where(Blob.sha256 == key.rsplit("/", 1)[-1])).scalar()


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            yield Path(dirpath, name)


def _check_one(src: Path) -> list[str]:
    """Problems with one backup folder: every file against its manifest line, nothing missing or extra."""
    manifest = src / "manifest-sha256.txt"
    if not (src / "backup.json").exists() or not manifest.exists():
        return ["not a hoso backup (backup.json or manifest-sha256.txt missing)"]
    listed = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        digest, _, rel = line.partition("  ")
        listed[rel] = digest
    problems = []
    present = {p.relative_to(src).as_posix() for p in _files(src)} - {"manifest-sha256.txt"}
    problems += [f"missing: {rel}" for rel in sorted(set(listed) - present)]
    problems += [f"not in the manifest: {rel}" for rel in sorted(present - set(listed))]
    problems += [f"altered: {rel}" for rel in sorted(set(listed) & present) if _sha_file(src / rel) != listed[rel]]
    return problems


def check(src: Path) -> list[str]:
    """Problems with a backup folder and the chain of bases it relies on."""
    problems = _check_one(src)
    return problems or backup_chain.problems(src, _check_one)


def restore(session: Session, store: ObjectStore, src: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Bring a backup back into an empty database (at the same schema revision) and an empty store."""
    problems = check(src)
    if problems:
        raise IntegrityFailure(
            f"Bản sao lưu hỏng: {'; '.join(problems[:5])}.", f"The backup is damaged: {'; '.join(problems[:5])}."
        )
    info = json.loads((src / "backup.json").read_text(encoding="utf-8"))
    revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if revision != info["revision"]:
        raise Conflict(
            f"Cơ sở dữ liệu ở phiên bản {revision}, bản sao lưu ở {info['revision']}: hãy dùng cùng phiên bản hoso.",
            f"The database is at revision {revision} and the backup at {info['revision']}: use the same hoso.",
        )
    if session.scalar(select(func.count()).select_from(Record)):
        raise Conflict(
            "Cơ sở dữ liệu đích đã có hồ sơ; chỉ khôi phục vào cơ sở dữ liệu trống.",
            "The target database already holds records; restore only into an empty one.",
        )
    session.commit()
    tables = Base.metadata.sorted_tables
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.begin() as conn:
        for table in reversed(tables):  # the fresh database's seed rows (record types, audit head) go first
            conn.execute(table.delete())
        for n, table in enumerate(tables, start=1):
            path = src / "db" / f"{table.name}.jsonl"
            if not path.exists():
                continue
            batch: list[dict[str, Any]] = []
            binary = {c.name for c in table.columns if isinstance(c.type, LargeBinary)}
            with open(path, encoding="utf-8") as f:
                for line in f:
                    row = {k: _back(v) for k, v in json.loads(line).items()}
                    for name in binary:
                        if isinstance(row.get(name), str):
                            row[name] = base64.b64decode(row[name])
                    batch.append(row)
                    if len(batch) >= 1000:
                        conn.execute(insert(table), batch)
                        batch = []
            if batch:
                conn.execute(insert(table), batch)
            serial = "id" in table.columns and isinstance(table.columns["id"].type, Integer)
            if bind.dialect.name == "postgresql" and serial:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
                )
            if progress:
                progress("db", n, len(tables))
    objects = sorted(backup_chain.object_files(src).items())
    # the backed-up rows name the old store's object versions; the blobs get the versions of this one
    session.execute(update(Blob).values(version_id=None))
    session.commit()
    versions: list[dict[str, Any]] = []
    for n, (key, path) in enumerate(objects, start=1):
        if not store.exists(key):
            with open(path, "rb") as f:
                version_id = store.put(key, f, path.stat().st_size).version_id
        else:
            version_id = store.head(key).version_id
        if version_id and key.startswith("blobs/"):
            versions.append({"sha": key.rsplit("/", 1)[-1], "vid": version_id})
        if len(versions) >= 1000 or (versions and n == len(objects)):
            blobs = Base.metadata.tables[Blob.__tablename__]
            session.execute(
                update(blobs).where(blobs.c.sha256 == bindparam("sha")).values(version_id=bindparam("vid")), versions
            )
            session.commit()
            versions = []
        if progress:
            progress("objects", n, len(objects))
    return {"revision": revision, "rows": info["rows"], "objects": len(objects)}
