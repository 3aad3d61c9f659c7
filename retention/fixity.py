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
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import anchors, audit, jobs
from archive.db import utcnow, write_transaction
from archive.models import Blob, Record, Version
from archive.storage import ObjectMissing, ObjectStore, blob_key
from retention import orphans as orphans_scan
from retention.models import FixityRun, FixityState

FIXITY_JOB = "fixity_run"  # the job kind the worker drains
Progress = Callable[[int, int], None]  # (bytes done, bytes total)
MAX_LISTED = 1000


def _hash(
    store: ObjectStore, sha256: str, version_id: str | None, stop: threading.Event | None
) -> tuple[str | None, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in store.get(blob_key(sha256), version_id=version_id):
            if stop is not None and stop.is_set():  # every MiB: a 2 GB recording never holds up a shutdown
                raise jobs.Stopped
            digest.update(chunk)
            size += len(chunk)
    except ObjectMissing:
        return None, 0
    return digest.hexdigest(), size


@dataclass
class _Findings:
    mismatched: list[dict[str, object]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    tampered: list[dict[str, object]] = field(default_factory=list)
    orphans: list[dict[str, object]] = field(default_factory=list)
    orphans_found: int = 0
    bytes_done: int = 0
    chain_problems: list[str] = field(default_factory=list)


def run(
    session: Session,
    store: ObjectStore,
    started_by: str = "system",
    progress: Progress | None = None,
    workers: int = 2,
    stop: threading.Event | None = None,
) -> FixityRun:
    """One complete pass; the run row is committed first (visible as running) and last (its findings).

    When `stop` is set (the server is stopping) the run ends within a chunk, `interrupted`, and
    raises jobs.Stopped so its job is queued again."""
    fixity = FixityRun(started_by=started_by, started_at=utcnow(), state=FixityState.running)
    session.add(fixity)
    session.commit()
    kept = Blob.destroyed_at.is_(None)  # lawfully destroyed bytes are not expected any more
    total = int(session.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(kept)) or 0)
    blobs = list(session.execute(select(Blob.sha256, Blob.size, Blob.version_id).where(kept).order_by(Blob.sha256)))
    session.commit()
    found = _Findings()
    try:
        _hash_blobs(store, blobs, fixity, found, total, progress, workers, stop)
        _scan_store(session, store, found, stop)
        chain = audit.verify_chain(session)
        anchored = anchors.verify(session, store)
        found.chain_problems = [*chain.problems, *anchored.problems]
        # a head is anchored only when the chain and every earlier anchor hold: never bless a cut log
        anchor = anchors.write(session, store) if not found.chain_problems else None
    except jobs.Stopped:
        session.rollback()
        fixity.state, fixity.error, fixity.finished_at = FixityState.interrupted, "the server was stopped", utcnow()
        session.commit()
        raise
    except Exception as e:
        session.rollback()
        fixity.state, fixity.error, fixity.finished_at = FixityState.failed, repr(e)[:2000], utcnow()
        session.commit()
        raise
    fixity.bytes_checked = found.bytes_done
    fixity.mismatched = _with_records(session, found.mismatched)[:MAX_LISTED]
    fixity.missing = found.missing[:MAX_LISTED]
    fixity.tampered = _with_records(session, found.tampered)[:MAX_LISTED]
    fixity.orphans = found.orphans
    fixity.orphans_found = found.orphans_found
    fixity.audit_events_checked = chain.checked
    fixity.audit_problems = found.chain_problems[:MAX_LISTED]
    fixity.anchor_key = anchor.key if anchor else None
    # orphans are garbage for `hoso gc`, not damage: they are listed, the run is still "ok"
    damaged = found.mismatched or found.missing or found.tampered or found.chain_problems
    fixity.state = FixityState.problems if damaged else FixityState.ok
    fixity.finished_at = utcnow()
    _record(session, fixity, found)
    return fixity


def _hash_blobs(
    store: ObjectStore,
    blobs: list[Any],
    fixity: FixityRun,
    found: _Findings,
    total: int,
    progress: Progress | None,
    workers: int,
    stop: threading.Event | None,
) -> None:
    """Every blob re-hashed in a thread pool (hashlib releases the GIL), in address order."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        hashed = pool.map(lambda b: _hash(store, b[0], b[2], stop), blobs)
        for (sha, size, _version), (actual, read) in zip(blobs, hashed, strict=True):
            if actual is None:
                found.missing.append(sha)
            elif actual != sha or read != size:
                found.mismatched.append({"sha256": sha, "actual_sha256": actual, "size": size, "actual_size": read})
            found.bytes_done += read
            fixity.blobs_checked += 1
            if progress:
                progress(found.bytes_done, total)
    finally:  # when stopping, the blobs not yet started are dropped rather than each opened in turn
        pool.shutdown(wait=True, cancel_futures=stop is not None and stop.is_set())


def _scan_store(session: Session, store: ObjectStore, found: _Findings, stop: threading.Event | None) -> None:
    """The store's listing against the database: tampering (other versions) and orphans."""
    for seen in orphans_scan.scan(session, store):
        if stop is not None and stop.is_set():
            raise jobs.Stopped
        if isinstance(seen, orphans_scan.Tampered):
            found.tampered.append(seen.as_dict())
        else:
            found.orphans_found += 1
            if len(found.orphans) < MAX_LISTED:
                found.orphans.append(seen.as_dict())


def _record(session: Session, fixity: FixityRun, found: _Findings) -> None:
    """The run's findings, the damaged blobs flagged for the archivist, and the audit event, together."""
    with write_transaction(session):
        session.add(fixity)
        for entry in [*found.mismatched, *found.tampered]:
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
                "mismatched": len(found.mismatched),
                "missing": len(found.missing),
                "tampered": len(found.tampered),
                "orphans": found.orphans_found,
                "audit_problems": len(found.chain_problems),
                "anchor": fixity.anchor_key,
            },
        )


def _with_records(session: Session, found: list[dict[str, object]]) -> list[dict[str, object]]:
    for entry in found:
        entry["records"] = list(
            session.scalars(select(Version.record_id).where(Version.blob_sha256 == entry["sha256"]).distinct())
        )
    return found


def findings_for(session: Session, run: FixityRun, school_ids: set[int] | None) -> dict[str, Any]:
    """What a run found, as seen by someone who manages `school_ids` (None: an administrator, all of it).

    A run checks the whole archive, but its findings name records: an archivist of one school must not
    learn which records of another school were altered or lost. So a finding is shown only when one of
    its records is at a school the person manages (with only those records); a blob no version of a
    managed school uses, orphans (no record at all), and the archive-wide audit chain's problems and
    anchor, are the administrator's. The state follows what is shown. Totals (blobs, bytes, events)
    are the archive's and stay.
    """
    if school_ids is None:
        return {
            "state": run.state,
            "mismatched": run.mismatched,
            "missing": run.missing,
            "tampered": run.tampered,
            "orphans": run.orphans,
            "orphans_found": run.orphans_found,
            "anchor_key": run.anchor_key,
            "audit_problems": run.audit_problems,
            "started_by": run.started_by,
            "error": run.error,
        }
    tampered = _only_schools(session, run.tampered or [], school_ids)
    mismatched_ids = {str(r) for entry in run.mismatched or [] for r in entry.get("records", [])}
    users = _records_by_blob(session, list(run.missing or []))
    school_of = _school_of(session, mismatched_ids | {r for records in users.values() for r in records})
    mismatched = []
    for entry in run.mismatched or []:
        mine = [r for r in entry.get("records", []) if school_of.get(str(r)) in school_ids]
        if mine:
            mismatched.append({**entry, "records": mine})
    missing = [sha for sha in run.missing or [] if any(school_of.get(r) in school_ids for r in users.get(sha, []))]
    state = run.state
    if state in (FixityState.ok, FixityState.problems):
        state = FixityState.problems if mismatched or missing or tampered else FixityState.ok
    return {
        "state": state,
        "mismatched": mismatched,
        "missing": missing,
        "tampered": tampered,
        "orphans": [],
        "orphans_found": 0,
        "anchor_key": None,
        "audit_problems": [],
        "started_by": run.started_by if run.started_by in ("schedule", "system") else None,
        "error": None,
    }


def _only_schools(session: Session, found: list[dict[str, Any]], school_ids: set[int]) -> list[dict[str, Any]]:
    """Findings that name records, narrowed to those at these schools (and dropped if none is)."""
    school_of = _school_of(session, {str(r) for entry in found for r in entry.get("records", [])})
    narrowed = []
    for entry in found:
        mine = [r for r in entry.get("records", []) if school_of.get(str(r)) in school_ids]
        if mine:
            narrowed.append({**entry, "records": mine})
    return narrowed


def _records_by_blob(session: Session, shas: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if shas:
        rows = session.execute(
            select(Version.blob_sha256, Version.record_id).where(Version.blob_sha256.in_(shas)).distinct()
        )
        for sha, record_id in rows:
            found.setdefault(sha, []).append(record_id)
    return found


def _school_of(session: Session, record_ids: set[str]) -> dict[str, int]:
    if not record_ids:
        return {}
    return {r: s for r, s in session.execute(select(Record.id, Record.school_id).where(Record.id.in_(record_ids)))}
