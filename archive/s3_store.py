"""The production object store: any S3 server with Object Lock (MinIO, Ceph RGW, AWS S3).

minio-py is the client: small, synchronous, and it covers Object Lock, retention, legal hold and
multipart uploads without boto's weight. The bucket is created versioned with Object Lock; retention
is set after the PUT in COMPLIANCE mode (setting it on the PUT needs Content-MD5, which a streamed
upload cannot know in advance). Deletes remove the object's versions, which Object Lock refuses
while they are retained; we check first so the refusal says why.

Object Lock keeps every version, but a plain GET reads the latest: anyone with PutObject rights
could put new bytes over a blob, or a delete marker on it, and a reader of "the key" would serve
the replacement or call the record missing. So every put returns the version it made, blobs are
read (and locked) by that version, and fixity reports any other version under a blob key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from minio.retention import Retention
from urllib3.exceptions import HTTPError

from archive.exceptions import InvalidInput
from archive.storage import (
    CHUNK,
    HashingReader,
    ObjectExists,
    ObjectInfo,
    ObjectLocked,
    ObjectMissing,
    PutResult,
    RetentionShortening,
    StoredVersion,
    StoreUnavailable,
    check_unlocked,
)

if TYPE_CHECKING:
    from archive.settings import ArchiveSettings

_MISSING = {"NoSuchKey", "NoSuchVersion", "ResourceNotFound"}
_NO_LOCK = {"ObjectLockConfigurationNotFoundError", "InvalidRequest"}


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"Không kết nối được kho S3: {exc}", f"The S3 object store is unreachable: {exc}")


class S3Store:
    def __init__(self, client: Minio, bucket: str, part_size: int = 16 * 1024 * 1024) -> None:
        self.client = client
        self.bucket = bucket
        self.part_size = part_size
        self._ensure_bucket()

    @classmethod
    def from_settings(cls, settings: ArchiveSettings) -> S3Store:
        client = Minio(
            settings.s3_endpoint or "",
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        return cls(client, settings.s3_bucket, settings.s3_part_size)

    def _ensure_bucket(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=True)
            self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code in _NO_LOCK:
                raise StoreUnavailable(
                    f"Bucket {self.bucket} không bật Object Lock; hoso cần bucket có Object Lock.",
                    f"Bucket {self.bucket} has no Object Lock; hoso needs an Object Lock bucket.",
                ) from exc
            raise _unavailable(exc) from exc
        except HTTPError as exc:
            raise _unavailable(exc) from exc

    # -- writing -------------------------------------------------------------------------------
    def put(
        self, key: str, data: BinaryIO, size: int | None = None, *, content_type: str = "", replace: bool = False
    ) -> PutResult:
        if self.exists(key):
            if not replace:
                raise ObjectExists(key)
            check_unlocked(self.head(key), datetime.now(UTC))
        reader = HashingReader(data)
        try:
            # One part in flight at a time: memory stays at one part whatever the object's size.
            written = self.client.put_object(
                self.bucket,
                key,
                reader,  # type: ignore[arg-type]
                length=size if size is not None else -1,
                content_type=content_type or "application/octet-stream",
                part_size=self.part_size,
                num_parallel_uploads=1,
            )
        except (S3Error, HTTPError) as exc:
            raise _unavailable(exc) from exc
        except OSError as exc:  # minio: "stream having not enough data"; nothing was completed
            raise InvalidInput(
                f"Dữ liệu ngắn hơn khai báo ({reader.size} < {size} byte).",
                f"Stream shorter than the declared {size} bytes: {exc}",
            ) from exc
        if size is not None and data.read(1):  # minio stops at `size`: a longer stream was cut
            self.client.remove_object(self.bucket, key, version_id=written.version_id)
            raise InvalidInput(
                f"Dữ liệu dài hơn khai báo ({size} byte).", f"Stream longer than the declared {size} bytes."
            )
        return PutResult(key=key, sha256=reader.sha.hexdigest(), size=reader.size, version_id=written.version_id)

    def put_file(self, key: str, path: Path, sha256: str, size: int, *, content_type: str = "") -> PutResult:
        with open(path, "rb") as fh:
            return self.put(key, fh, size, content_type=content_type)

    # -- reading -------------------------------------------------------------------------------
    def get(
        self, key: str, start: int = 0, length: int | None = None, *, version_id: str | None = None
    ) -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, key, offset=start, length=length or 0, version_id=version_id)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise ObjectMissing(key) from None
            raise _unavailable(exc) from exc
        except HTTPError as exc:
            raise _unavailable(exc) from exc
        return self._iter(response)

    @staticmethod
    def _iter(response) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
        try:
            yield from response.stream(CHUNK)
        finally:
            response.close()
            response.release_conn()

    def _stat(self, key: str, version_id: str | None = None):  # type: ignore[no-untyped-def]
        try:
            return self.client.stat_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise ObjectMissing(key) from None
            raise _unavailable(exc) from exc
        except HTTPError as exc:
            raise _unavailable(exc) from exc

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        # One HEAD request: S3 reports retention and legal hold as x-amz-object-lock-* headers.
        stat = self._stat(key, version_id)
        headers = {k.lower(): v for k, v in (stat.metadata or {}).items()}
        until = headers.get("x-amz-object-lock-retain-until-date")
        return ObjectInfo(
            key=key,
            size=stat.size or 0,
            retain_until=datetime.fromisoformat(until.replace("Z", "+00:00")).astimezone(UTC) if until else None,
            legal_hold=headers.get("x-amz-object-lock-legal-hold", "").upper() == "ON",
            version_id=stat.version_id,
        )

    def exists(self, key: str) -> bool:
        try:
            self._stat(key)
            return True
        except ObjectMissing:
            return False

    def list(self, prefix: str) -> Iterator[str]:
        for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
            if obj.object_name and not obj.is_dir:
                yield obj.object_name

    def list_versions(self, prefix: str) -> Iterator[StoredVersion]:
        # S3 lists versions key by key (newest first within a key), a page of 1000 at a time.
        for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True, include_version=True):
            if obj.object_name and not obj.is_dir:
                yield StoredVersion(
                    key=obj.object_name,
                    version_id=obj.version_id,
                    is_latest=str(obj.is_latest).lower() == "true",
                    is_delete_marker=bool(obj.is_delete_marker),
                    size=obj.size or 0,
                    last_modified=(obj.last_modified or datetime.now(UTC)).astimezone(UTC),
                )

    # -- locking -------------------------------------------------------------------------------
    def set_retention(self, key: str, until: datetime, version_id: str | None = None) -> None:
        """Lock `version_id` (the version hoso wrote) or, without it, the latest version."""
        current = self.head(key, version_id).retain_until
        # Real S3/MinIO refuse to shorten COMPLIANCE retention; moto does not, so we refuse here too.
        if current is not None and until < current:
            raise RetentionShortening(key, current, until)
        until = until.astimezone(UTC)
        self.client.set_object_retention(self.bucket, key, Retention(COMPLIANCE, until), version_id=version_id)

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        self.head(key, version_id)
        if on:
            self.client.enable_object_legal_hold(self.bucket, key, version_id)
        else:
            self.client.disable_object_legal_hold(self.bucket, key, version_id)

    def delete(self, key: str) -> None:
        info = self.head(key)
        check_unlocked(info, datetime.now(UTC))
        versions = [
            obj.version_id
            for obj in self.client.list_objects(self.bucket, prefix=key, recursive=True, include_version=True)
            if obj.object_name == key
        ]
        for version_id in versions:
            try:
                self.client.remove_object(self.bucket, key, version_id=version_id)
            except S3Error as exc:
                if exc.code == "AccessDenied":
                    raise ObjectLocked(key, info.retain_until, info.legal_hold) from exc
                raise _unavailable(exc) from exc
