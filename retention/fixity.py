"""Fixity audit (kiểm tra toàn vẹn): every blob re-hashed from the store, and the audit chain walked.

A blob whose bytes no longer hash to its address, or that is gone, is reported by address with the
records that use it; an altered or removed audit event is reported by the chain check in the same
run. Blobs are streamed in 1 MiB chunks (a 2 GB recording costs no memory) and hashed in a thread
pool, since hashlib releases the GIL: on a folder store this runs close to `sha256sum`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import audit, jobs
from archive.db import utcnow, write_transaction
from archive.models import Blob, Record, Version
from archive.storage import ObjectMissing, ObjectStore, blob_key
from retention.models import FixityRun

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
MAX_LISTED = 1000


def _hash(store: ObjectStore, sha256: str, stop: threading.Event | None) -> tuple[str | None, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in store.get(blob_key(sha256)):
            if stop is not None and stop.is_set():  # every MiB: a 2 GB recording never holds up a shutdown
                raise jobs.Stopped
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
    stop: threading.Event | None = None,
) -> FixityRun:
    """One complete pass; the run row is committed first (visible as running) and last (its findings).

    When `stop` is set (the server is stopping) the run ends within a chunk, `interrupted`, and
    raises jobs.Stopped so its job is queued again."""
    fixity = FixityRun(started_by=started_by, started_at=utcnow(), state="running")
    session.add(fixity)
    session.commit()
    kept = Blob.destroyed_at.is_(None)  # lawfully destroyed bytes are not expected any more
    total = int(session.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(kept)) or 0)
    blobs = list(session.execute(select(Blob.sha256, Blob.size).where(kept).order_by(Blob.sha256)))
    session.commit()
    mismatched: list[dict[str, object]] = []
    missing: list[str] = []
    done_bytes = 0
    try:
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            hashed = pool.map(lambda b: _hash(store, b[0], stop), blobs)
            for (sha, size), (actual, read) in zip(blobs, hashed, strict=True):
                if actual is None:
                    missing.append(sha)
                elif actual != sha or read != size:
                    mismatched.append({"sha256": sha, "actual_sha256": actual, "size": size, "actual_size": read})
                done_bytes += read
                fixity.blobs_checked += 1
                if progress:
                    progress(done_bytes, total)
        finally:  # when stopping, the blobs not yet started are dropped rather than each opened in turn
            pool.shutdown(wait=True, cancel_futures=stop is not None and stop.is_set())
        chain = audit.verify_chain(session)
    except jobs.Stopped:
        session.rollback()
        fixity.state, fixity.error, fixity.finished_at = "interrupted", "the server was stopped", utcnow()
        session.commit()
        raise
    except Exception as e:
        session.rollback()
        fixity.state, fixity.error, fixity.finished_at = "failed", repr(e)[:2000], utcnow()
        session.commit()
        raise
    fixity.bytes_checked = done_bytes
    fixity.mismatched = _with_records(session, mismatched)[:MAX_LISTED]
    fixity.missing = missing[:MAX_LISTED]
    fixity.audit_events_checked = chain.checked
    fixity.audit_problems = chain.problems[:MAX_LISTED]
    fixity.state = "ok" if not (mismatched or missing or chain.problems) else "problems"
    fixity.finished_at = utcnow()
    with write_transaction(session):
        session.add(fixity)
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
                "audit_problems": len(chain.problems),
            },
        )
    return fixity


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
    managed school uses, and the archive-wide audit chain's problems, are the administrator's. The
    state follows what is shown. Totals (blobs, bytes, events) are the archive's and stay.
    """
    if school_ids is None:
        return {
            "state": run.state,
            "mismatched": run.mismatched,
            "missing": run.missing,
            "audit_problems": run.audit_problems,
            "started_by": run.started_by,
            "error": run.error,
        }
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
    if state in ("ok", "problems"):
        state = "problems" if mismatched or missing else "ok"
    return {
        "state": state,
        "mismatched": mismatched,
        "missing": missing,
        "audit_problems": [],
        "started_by": run.started_by if run.started_by in ("schedule", "system") else None,
        "error": None,
    }


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
    return dict(session.execute(select(Record.id, Record.school_id).where(Record.id.in_(record_ids))).tuples().all())
