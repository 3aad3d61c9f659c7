"""What the store holds that the database does not: orphans, tampering under blob keys, and `hoso gc`.

hoso puts bytes first and commits their rows after ("put first, ask later"), so a process killed
in between leaves objects no row refers to: a killed signing run left 22 signed PDFs this way,
and a transaction killed after its sidecar leaves an unsealed sidecar. They are harmless but take
space, and an archivist should see them: fixity lists them, `hoso gc` removes those older than a
grace period (long enough that no upload still in flight is taken) that the store does not lock.

The same listing shows tampering on S3: hoso writes a blob key once, so any other version or a
delete marker under it was put there by someone else.

The store is listed as a stream and compared with the database a batch of keys at a time: a
million blobs cost a thousand queries and never a million keys in memory.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, sidecar
from archive.db import write_transaction
from archive.models import Blob, Version
from archive.storage import ObjectInfo, ObjectLocked, ObjectMissing, ObjectStore, StoredVersion, blob_key, is_locked

log = logging.getLogger(__name__)
BATCH = 1000
BLOBS = "blobs/"
SIDECARS = "records/"


@dataclass(frozen=True)
class Orphan:
    key: str
    kind: str  # blob | sidecar
    size: int
    last_modified: datetime

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "kind": self.kind, "size": self.size, "last_modified": self.last_modified.isoformat()}


@dataclass(frozen=True)
class Tampered:
    key: str
    sha256: str
    problem: str
    versions: int

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "sha256": self.sha256, "problem": self.problem, "versions": self.versions}


def _by_key(versions: Iterator[StoredVersion]) -> Iterator[tuple[str, list[StoredVersion]]]:
    for key, group in itertools.groupby(versions, key=lambda v: v.key):
        yield key, list(group)


def _batches(
    items: Iterator[tuple[str, list[StoredVersion]]], size: int = BATCH
) -> Iterator[list[tuple[str, list[StoredVersion]]]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def _newest(versions: list[StoredVersion]) -> StoredVersion:
    return max(versions, key=lambda v: v.last_modified)


def _sha_of(key: str) -> str | None:
    sha = key.rsplit("/", 1)[-1]
    return sha if len(sha) == 64 and blob_key(sha) == key else None


def tampering(versions: list[StoredVersion], recorded: str | None) -> str | None:
    """Why the versions under a referenced blob key show tampering, or None if they do not."""
    markers = sum(v.is_delete_marker for v in versions)
    others = [v for v in versions if not v.is_delete_marker and recorded is not None and v.version_id != recorded]
    if markers:
        return f"a delete marker was put on the blob key ({markers})"
    if recorded is not None and others:
        return f"{len(others)} other version(s) were put over the version hoso wrote"
    if recorded is None and len(versions) > 1:
        return f"{len(versions)} versions under a key hoso writes once"
    return None


def scan_blobs(session: Session, store: ObjectStore) -> Iterator[Orphan | Tampered]:
    """Every blob key no row references (an orphan) or whose versions show tampering."""
    for batch in _batches(_by_key(store.list_versions(BLOBS))):
        shas = [sha for key, _ in batch if (sha := _sha_of(key))]
        rows = {
            sha: (version_id, destroyed)
            for sha, version_id, destroyed in session.execute(
                select(Blob.sha256, Blob.version_id, Blob.destroyed_at).where(Blob.sha256.in_(shas))
            )
        }
        session.commit()
        for key, versions in batch:
            sha = _sha_of(key)
            row = rows.get(sha) if sha else None
            live = [v for v in versions if not v.is_delete_marker]
            if row is None:
                if live:  # only delete markers left: nothing to collect
                    newest = _newest(live)
                    yield Orphan(key, "blob", newest.size, newest.last_modified)
                continue
            recorded, destroyed = row
            if destroyed is not None:
                continue
            problem = tampering(versions, recorded)
            if problem is not None:
                yield Tampered(key, sha or "", problem, len(versions))


def scan_sidecars(session: Session, store: ObjectStore) -> Iterator[Orphan]:
    """Sidecars that no version row references and whose seal is missing (a transaction that never
    committed). A sealed one without a row is a committed record the database lost: not garbage."""
    sidecars = (
        (key, versions)
        for key, versions in _by_key(store.list_versions(SIDECARS))
        if key.endswith(".json") and not key.startswith(sidecar.ALL_SEALED)
    )
    for batch in _batches(sidecars):
        keys = [key for key, _ in batch]
        known = set(session.scalars(select(Version.sidecar_key).where(Version.sidecar_key.in_(keys))))
        session.commit()
        for key, versions in batch:
            live = [v for v in versions if not v.is_delete_marker]
            if key in known or not live or sidecar.is_sealed(store, key):
                continue
            newest = _newest(live)
            yield Orphan(key, "sidecar", newest.size, newest.last_modified)


def scan(session: Session, store: ObjectStore) -> Iterator[Orphan | Tampered]:
    yield from scan_blobs(session, store)
    yield from scan_sidecars(session, store)


@dataclass
class GcReport:
    dry_run: bool
    removed: list[str] = field(default_factory=list)
    removed_bytes: int = 0
    locked: list[str] = field(default_factory=list)  # unreferenced, but the store keeps it: left alone
    young: int = 0  # within the grace period: perhaps an upload still in flight


def _still_orphan(session: Session, store: ObjectStore, orphan: Orphan) -> bool:
    """Asked again right before removal: a row committed since the scan makes it no orphan."""
    if orphan.kind == "blob":
        sha = _sha_of(orphan.key)
        found = session.get(Blob, sha, populate_existing=True) is not None if sha else False
    else:
        found = session.scalar(
            select(Version.id).where(Version.sidecar_key == orphan.key).limit(1)
        ) is not None or sidecar.is_sealed(store, orphan.key)
    session.commit()
    return not found


def collect(
    session: Session, store: ObjectStore, grace: timedelta = timedelta(hours=24), dry_run: bool = False
) -> GcReport:
    """Remove unreferenced objects older than `grace` that the store does not lock; audited.

    Ages are the store's own timestamps, so the grace period runs on real time (like the locks)."""
    report = GcReport(dry_run=dry_run)
    cutoff = datetime.now(UTC) - grace
    for found in scan(session, store):
        if not isinstance(found, Orphan):
            continue
        if found.last_modified > cutoff:
            report.young += 1
            continue
        if not _still_orphan(session, store, found):
            continue
        if dry_run:
            info = _head(store, found.key)
            if info is not None and _locked(info):
                report.locked.append(found.key)
            else:
                report.removed.append(found.key)
                report.removed_bytes += found.size
            continue
        try:
            store.delete(found.key)
        except ObjectLocked:
            report.locked.append(found.key)
            continue
        except ObjectMissing:
            continue
        report.removed.append(found.key)
        report.removed_bytes += found.size
    if not dry_run:
        with write_transaction(session):
            audit.append(
                session,
                actor=None,
                action="store.gc",
                object_type="store",
                object_id="gc",
                details={
                    "removed": len(report.removed),
                    "bytes": report.removed_bytes,
                    "keys": report.removed[:1000],
                    "locked": report.locked[:1000],
                    "young": report.young,
                    "grace_hours": grace.total_seconds() / 3600,
                },
            )
    return report


def _head(store: ObjectStore, key: str) -> ObjectInfo | None:
    try:
        return store.head(key)
    except ObjectMissing:
        return None


def _locked(info: ObjectInfo) -> bool:
    return is_locked(info, datetime.now(UTC))  # the store's clock is real time (DESIGN §6)
