"""The object-store seam: one protocol, two implementations (folder, S3), one contract test suite.

The store is WORM (write once, read many): a key is never overwritten unless the caller says it
replaces an orphan (an object no database row refers to), and nothing is deleted while it carries a
retention date in the future or a legal hold. The folder store enforces this itself; the S3 store
relies on the bucket's Object Lock and checks first, so the error is clear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from archive.exceptions import Conflict, HosoError, NotFound

CHUNK = 1024 * 1024


def blob_key(sha256: str) -> str:
    """Content address: `blobs/sha256/ab/cd/<sha256>` spreads keys over 65,536 folders."""
    return f"blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def sidecar_key(school_code: str, school_year: str, record_id: str, number: int) -> str:
    return f"records/{school_code}/{school_year}/{record_id}/v{number}.json"


@dataclass(frozen=True)
class PutResult:
    key: str
    sha256: str
    size: int
    # The S3 object version this put made (None on the folder store, which keeps one version): a
    # blob is read by it, so a later PutObject or delete marker on the key cannot change its bytes.
    version_id: str | None = None


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    retain_until: datetime | None
    legal_hold: bool
    version_id: str | None = None


@dataclass(frozen=True)
class StoredVersion:
    """One version of one key as a listing reports it (the folder store has exactly one per key)."""

    key: str
    version_id: str | None
    is_latest: bool
    is_delete_marker: bool
    size: int
    last_modified: datetime


class ObjectMissing(NotFound):
    def __init__(self, key: str) -> None:
        super().__init__(f"Không tìm thấy đối tượng {key} trong kho lưu trữ.", f"Object {key} not found.")
        self.key = key


class ObjectExists(Conflict):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Đối tượng {key} đã tồn tại và không được ghi đè.", f"Object {key} exists; it is never overwritten."
        )
        self.key = key


class ObjectLocked(Conflict):
    """Delete or overwrite refused: the object is retained or held."""

    code = "object_locked"

    def __init__(self, key: str, retain_until: datetime | None, legal_hold: bool) -> None:
        if legal_hold:
            vi, en = "đang bị tạm giữ (legal hold)", "is under legal hold"
        else:
            day = retain_until.date().isoformat() if retain_until else "?"
            vi, en = f"được lưu giữ đến {day}", f"is retained until {day}"
        super().__init__(
            f"Không thể xóa hoặc ghi đè {key}: {vi}.",
            f"Cannot delete or overwrite {key}: it {en}.",
            retain_until=retain_until.isoformat() if retain_until else None,
            legal_hold=legal_hold,
        )
        self.key = key


class RetentionShortening(Conflict):
    code = "retention_shortening"

    def __init__(self, key: str, current: datetime, requested: datetime) -> None:
        super().__init__(
            f"Không thể rút ngắn thời hạn lưu giữ của {key} (đang đến {current.date()}).",
            f"Retention of {key} cannot be shortened (currently until {current.date()}).",
        )


class StoreUnavailable(HosoError):
    code = "store_unavailable"


class ObjectStore(Protocol):
    def put(
        self, key: str, data: BinaryIO, size: int | None = None, *, content_type: str = "", replace: bool = False
    ) -> PutResult:
        """Store a stream under `key`, atomically; returns the SHA-256 and size of what was stored."""
        ...

    def put_file(self, key: str, path: Path, sha256: str, size: int, *, content_type: str = "") -> PutResult:
        """Store a finished local file whose hash and size are known (an upload's spool).

        The folder store links the file into place instead of copying it, so an upload is
        written to disk once; the S3 store uploads it and re-hashes on the way.
        """
        ...

    def get(
        self, key: str, start: int = 0, length: int | None = None, *, version_id: str | None = None
    ) -> Iterator[bytes]:
        """Stream the bytes [start, start+length) of an object in chunks: of `version_id` when given
        (the version hoso wrote), else of the latest version (sidecars, seals: replaceable objects)."""
        ...

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key under a prefix, in no promised order."""
        ...

    def list_versions(self, prefix: str) -> Iterator[StoredVersion]:
        """Every version and delete marker under a prefix, streamed; a key's versions come together."""
        ...

    def set_retention(self, key: str, until: datetime, version_id: str | None = None) -> None:
        """Keep the object (its `version_id` when given) at least until `until`; a shorter date is refused."""
        ...

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None: ...

    def delete(self, key: str) -> None:
        """Remove the object; refused (ObjectLocked) while retained or held."""
        ...


class HashingReader:
    """Wrap a stream so whatever is read through it is hashed and counted on the way."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


def is_locked(info: ObjectInfo, now: datetime) -> bool:
    """The one lock check: a legal hold, or a retention date still ahead (what the store itself enforces)."""
    return info.legal_hold or (info.retain_until is not None and info.retain_until > now)


def check_unlocked(info: ObjectInfo, now: datetime) -> None:
    if is_locked(info, now):
        raise ObjectLocked(info.key, info.retain_until, info.legal_hold)


def make_store(settings: object) -> ObjectStore:
    """The S3 store when an endpoint is configured, else the folder store under the data dir."""
    from archive.settings import ArchiveSettings

    assert isinstance(settings, ArchiveSettings)
    if settings.s3_endpoint:
        from archive.s3_store import S3Store

        return S3Store.from_settings(settings)
    from archive.folder_store import FolderStore

    return FolderStore(settings.data_dir / "objects")
