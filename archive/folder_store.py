"""The embedded object store: a folder on the local disk, with the same WORM rules as S3 Object Lock.

Writes go to a temp file on the same disk, are fsynced, then linked into place (a link never
replaces an existing file, so two writers cannot clobber each other) and the folder is fsynced: a
crash leaves either the whole object or none. Objects are made read-only. Retention dates and legal
holds live in small JSON files under `.lock/`, written the same atomic way.
"""

from __future__ import annotations

import errno
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from archive.exceptions import InvalidInput
from archive.storage import (
    CHUNK,
    HashingReader,
    ObjectExists,
    ObjectInfo,
    ObjectMissing,
    PutResult,
    RetentionShortening,
    StoredVersion,
    check_unlocked,
)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._tmp = self.root / ".tmp"
        self._locks = self.root / ".lock"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._locks.mkdir(parents=True, exist_ok=True)

    # -- paths ---------------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or p.startswith(".") for p in parts) or "\\" in key:
            raise InvalidInput(f"Khóa đối tượng không hợp lệ: {key!r}", f"Invalid object key: {key!r}")
        return self.root.joinpath(*parts)

    def local_path(self, key: str) -> Path | None:
        """The object's own read-only file, for tools that need a seekable path (ffprobe); None if absent."""
        path = self._path(key)
        return path if path.is_file() else None

    def _lock_path(self, key: str) -> Path:
        self._path(key)
        return self._locks.joinpath(*key.split("/")).with_suffix(".lock.json")

    # -- writing -------------------------------------------------------------------------------
    def put(
        self, key: str, data: BinaryIO, size: int | None = None, *, content_type: str = "", replace: bool = False
    ) -> PutResult:
        target = self._path(key)
        if target.exists() and not replace:
            raise ObjectExists(key)
        if target.exists():
            check_unlocked(self.head(key), datetime.now(UTC))
        tmp = self._tmp / f"{uuid.uuid4().hex}.part"
        reader = HashingReader(data)
        try:
            with open(tmp, "wb") as out:
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size is not None and reader.size != size:
                raise InvalidInput(
                    f"Dữ liệu ngắn/dài hơn khai báo ({reader.size} ≠ {size} byte).",
                    f"Stream length {reader.size} differs from the declared {size} bytes.",
                )
            os.chmod(tmp, 0o444)
            self._ensure_parent(target)
            if replace:
                os.replace(tmp, target)
            else:
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    raise ObjectExists(key) from None
            _fsync_dir(target.parent)
        finally:
            tmp.unlink(missing_ok=True)
        return PutResult(key=key, sha256=reader.sha.hexdigest(), size=reader.size)

    def put_file(self, key: str, path: Path, sha256: str, size: int, *, content_type: str = "") -> PutResult:
        target = self._path(key)
        if target.exists():
            raise ObjectExists(key)
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
            actual = os.fstat(fh.fileno()).st_size
        if actual != size:
            raise InvalidInput(
                f"Tệp tạm có {actual} byte, khác {size} byte đã nhận.", f"Spool holds {actual} bytes, not {size}."
            )
        os.chmod(path, 0o444)
        self._ensure_parent(target)
        try:
            os.link(path, target)  # the spool's inode becomes the object: no second copy
        except FileExistsError:
            raise ObjectExists(key) from None
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            with open(path, "rb") as fh:  # data dir on another file system: copy instead
                return self.put(key, fh, size, content_type=content_type)
        _fsync_dir(target.parent)
        return PutResult(key=key, sha256=sha256, size=size)

    @staticmethod
    def _ensure_parent(target: Path) -> None:
        if not target.parent.is_dir():  # a stat is cheaper than a mkdir that finds the folder there
            target.parent.mkdir(parents=True, exist_ok=True)

    def _write_lock(self, key: str, state: dict[str, object]) -> None:
        path = self._lock_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / f"{uuid.uuid4().hex}.lock"
        with open(tmp, "w") as out:
            json.dump(state, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)

    def _read_lock(self, key: str) -> dict[str, object]:
        path = self._lock_path(key)
        if not path.exists():
            return {}
        lock: dict[str, object] = json.loads(path.read_text())
        return lock

    # -- reading -------------------------------------------------------------------------------
    # A folder keeps one version per key: `version_id` is accepted for the protocol and ignored
    # (an overwrite on disk is caught by the hash, not by a version).
    def get(
        self, key: str, start: int = 0, length: int | None = None, *, version_id: str | None = None
    ) -> Iterator[bytes]:
        path = self._path(key)
        try:
            fh = open(path, "rb")  # noqa: SIM115  (closed by the generator)
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        return self._iter(fh, start, length)

    @staticmethod
    def _iter(fh: BinaryIO, start: int, length: int | None) -> Iterator[bytes]:
        with fh:
            fh.seek(start)
            remaining = length
            while remaining is None or remaining > 0:
                chunk = fh.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        path = self._path(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        lock = self._read_lock(key)
        until = lock.get("retain_until")
        return ObjectInfo(
            key=key,
            size=size,
            retain_until=datetime.fromisoformat(str(until)) if until else None,
            legal_hold=bool(lock.get("legal_hold", False)),
        )

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        for key, _path in self._walk(prefix):
            yield key

    def _walk(self, prefix: str) -> Iterator[tuple[str, str]]:
        """(key, file path) under a prefix, streamed; string work only (pathlib per file cost 5 s a
        100,000 keys), and a folder prefix that does not exist walks nothing, not the whole store."""
        base = self.root.joinpath(*[p for p in prefix.split("/") if p]) if prefix else self.root
        if base.is_dir():
            start = base
        elif prefix.endswith("/") or not base.parent.is_dir():
            return
        else:
            start = base.parent
        root = str(self.root) + os.sep
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            folder = dirpath[len(root) :].replace(os.sep, "/")
            for name in filenames:
                key = f"{folder}/{name}" if folder else name
                if key.startswith(prefix):
                    yield key, os.path.join(dirpath, name)

    def list_versions(self, prefix: str) -> Iterator[StoredVersion]:
        for key, path in self._walk(prefix):
            try:
                stat = os.stat(path)
            except FileNotFoundError:  # removed while we walked
                continue
            yield StoredVersion(
                key=key,
                version_id=None,
                is_latest=True,
                is_delete_marker=False,
                size=stat.st_size,
                last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            )

    # -- locking -------------------------------------------------------------------------------
    def set_retention(self, key: str, until: datetime, version_id: str | None = None) -> None:
        info = self.head(key)
        if info.retain_until is not None and until < info.retain_until:
            raise RetentionShortening(key, info.retain_until, until)
        lock = self._read_lock(key)
        lock["retain_until"] = until.astimezone(UTC).isoformat()
        self._write_lock(key, lock)

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        self.head(key)
        lock = self._read_lock(key)
        lock["legal_hold"] = on
        self._write_lock(key, lock)

    def delete(self, key: str) -> None:
        check_unlocked(self.head(key), datetime.now(UTC))
        self._path(key).unlink()
        self._lock_path(key).unlink(missing_ok=True)
        _fsync_dir(self._path(key).parent)

    def clean_temp(self, older_than_seconds: float = 3600) -> int:
        """Remove temp files left by a crash mid-write (they were never linked into place)."""
        removed = 0
        cutoff = time.time() - older_than_seconds
        for path in self._tmp.iterdir():
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
