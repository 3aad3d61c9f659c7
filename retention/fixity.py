"""Fixity audit (kiểm tra toàn vẹn): every blob re-hashed from the store, and the audit chain walked.

A blob whose bytes no longer hash to its address, or that is gone, is reported by address with the
records that use it; an altered or removed audit event is reported by the chain check in the same
run. Blobs are streamed in 1 MiB chunks (a 2 GB recording costs no memory) and hashed in a thread
pool, since hashlib releases the GIL: on a folder store this runs close to `sha256sum`.

Each blob is read at the version hoso wrote (S3), and the store's listing is compared with the
database (`retention.orphans`): another version or a delete marker under a blob key is reported as
tampering, objects no row references as orphans (for `hoso gc`). The audit chain is checked
against the anchors in the store (`archive.anchors`), and, when all of it holds, the head is
anchored again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import anchors, audit
from archive.db import utcnow, write_transaction
from archive.models import Blob, Version
from archive.storage import ObjectMissing, ObjectStore, blob_key
from retention import orphans as orphans_scan
from retention.models import FixityRun

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
MAX_LISTED = 1000


def _hash(store: ObjectStore, sha256: str, version_id: str | None) -> tuple[str | None, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in store.get(blob_key(sha256), version_id=version_id):
            digest.update(chunk)
            size += len(chunk)
    except ObjectMissing:
        return None, 0
    return digest.hexdigest(), size


def run(
    session: Session,
    store: ObjectStore,
    started_by: str = "system",
    progress: Progress | None = None,
    workers: int = 2,
) -> FixityRun:
    """One complete pass; the run row is committed first (visible as running) and last (its findings)."""
    fixity = FixityRun(started_by=started_by, started_at=utcnow(), state="running")
    session.add(fixity)
    session.commit()
    kept = Blob.destroyed_at.is_(None)  # lawfully destroyed bytes are not expected any more
    total = int(session.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(kept)) or 0)
    blobs = list(session.execute(select(Blob.sha256, Blob.size, Blob.version_id).where(kept).order_by(Blob.sha256)))
    session.commit()
    mismatched: list[dict[str, object]] = []
    missing: list[str] = []
    tampered: list[dict[str, object]] = []
    orphans: list[dict[str, object]] = []
    orphans_found = 0
    done_bytes = 0
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            hashes = pool.map(lambda b: _hash(store, b[0], b[2]), blobs)
            for (sha, size, _version), (actual, read) in zip(blobs, hashes, strict=True):
                if actual is None:
                    missing.append(sha)
                elif actual != sha or read != size:
                    mismatched.append({"sha256": sha, "actual_sha256": actual, "size": size, "actual_size": read})
                done_bytes += read
                fixity.blobs_checked += 1
                if progress:
                    progress(done_bytes, total)
        for found in orphans_scan.scan(session, store):
            if isinstance(found, orphans_scan.Tampered):
                tampered.append(found.as_dict())
            else:
                orphans_found += 1
                if len(orphans) < MAX_LISTED:
                    orphans.append(found.as_dict())
        chain = audit.verify_chain(session)
        anchored = anchors.verify(session, store)
        chain_problems = [*chain.problems, *anchored.problems]
        # a head is anchored only when the chain and every earlier anchor hold: never bless a cut log
        anchor = anchors.write(session, store) if not chain_problems else None
    except Exception as e:
        session.rollback()
        fixity.state, fixity.error, fixity.finished_at = "failed", repr(e)[:2000], utcnow()
        session.commit()
        raise
    fixity.bytes_checked = done_bytes
    fixity.mismatched = _with_records(session, mismatched)[:MAX_LISTED]
    fixity.missing = missing[:MAX_LISTED]
    fixity.tampered = _with_records(session, tampered)[:MAX_LISTED]
    fixity.orphans = orphans
    fixity.orphans_found = orphans_found
    fixity.audit_events_checked = chain.checked
    fixity.audit_problems = chain_problems[:MAX_LISTED]
    fixity.anchor_key = anchor.key if anchor else None
    # orphans are garbage for `hoso gc`, not damage: they are listed, the run is still "ok"
    fixity.state = "ok" if not (mismatched or missing or tampered or chain_problems) else "problems"
    fixity.finished_at = utcnow()
    with write_transaction(session):
        session.add(fixity)
        for entry in [*mismatched, *tampered]:
            blob = session.get(Blob, entry["sha256"])
            if blob is not None and blob.flagged_at is None:  # for the archivist, as a bad download would
                blob.flagged_at = utcnow()
                blob.flag_reason = "fixity: " + ("tampered" if "problem" in entry else "hash mismatch")
        audit.append(
            session,
            actor=None,
            action="fixity.checked",
            object_type="fixity_run",
            object_id=fixity.id,
            details={
                "state": fixity.state,
                "blobs": fixity.blobs_checked,
                "bytes": fixity.bytes_checked,
                "mismatched": len(mismatched),
                "missing": len(missing),
                "tampered": len(tampered),
                "orphans": orphans_found,
                "audit_problems": len(chain_problems),
                "anchor": fixity.anchor_key,
            },
        )
    return fixity


def _with_records(session: Session, found: list[dict[str, object]]) -> list[dict[str, object]]:
    for entry in found:
        entry["records"] = list(
            session.scalars(select(Version.record_id).where(Version.blob_sha256 == entry["sha256"]).distinct())
        )
    return found
