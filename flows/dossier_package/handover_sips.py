"""The SIP of each handed-over dossier, built by the worker and kept for the school's archive.

A handover queues one job per dossier with documents (retention/dossiers/handover.py). The job
builds the dossier's package in TT 05/2025 form (`build.build`, SIP, on behalf of the clerk who
handed it over: the handover was their act, checked then), puts the ZIP into the store under one
fixed key per handover and dossier, and records its size and SHA-256 on the row; the
`dossier.sip_kept` audit event puts that hash into the audit chain, so a ZIP changed in the store
later no longer matches what the archive recorded.

A destruction may come while a build runs (minutes, for a dossier of recordings): it marks the row
`destroyed` and deletes what the key holds (retention/disposition/execute.py). So the key is on
the row before the first byte is put, and the job's last transaction looks at the row again: a
row destroyed meanwhile gets its object deleted, never `ready`. A crash between the put and that
transaction leaves the object under the same key: the job's next run replaces it, or deletes it
when the row was destroyed. A stopping worker ends the build within a MiB and queues the job again.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy.orm import Session

from archive import audit, jobs
from archive.db import utcnow, write_transaction
from archive.exceptions import HosoError
from archive.models import DossierHandover, HandoverPackage, Person
from archive.storage import ObjectMissing, ObjectStore
from flows.dossier_package import build
from flows.state import AppState

log = logging.getLogger(__name__)
BUILDABLE = ("queued", "building", "failed")  # "building": an earlier run crashed or was stopped


def package_key(handover_id: int, dossier_id: str) -> str:
    return f"handovers/{handover_id}/{dossier_id}.zip"


def run(state: AppState, handover_id: int, dossier_id: str) -> None:
    """The job: build and keep the SIP, or say on its row why not (then the queue retries)."""
    key = package_key(handover_id, dossier_id)
    with state.sessions() as session:
        with write_transaction(session):
            row = session.get(HandoverPackage, (handover_id, dossier_id))
            handover = session.get(DossierHandover, handover_id)
            if row is None or handover is None or row.state == "ready":
                return
            if row.state == "destroyed":  # destroyed after an earlier run's put: nothing may stay
                _drop(state.store, key)
                return
            row.state, row.store_key = "building", key
            actor = session.get(Person, handover.created_by_id)
            school_id = handover.school_id
        assert actor is not None
        try:
            made = build.build(
                session, state.settings, state.store, actor, dossier_id, "SIP", stopping=state.stopping, checked=True
            )
        except jobs.Stopped:
            raise  # the row stays "building"; the job is queued again
        except Exception as e:
            log.exception("the SIP of dossier %s (handover %s) failed", dossier_id, handover_id)
            session.rollback()
            with write_transaction(session):
                again = session.get(HandoverPackage, (handover_id, dossier_id), populate_existing=True)
                if again is not None and again.state == "building":  # never over a destroyed or kept one
                    again.state = "failed"
                    again.error = (f"{e.vi} / {e.en}" if isinstance(e, HosoError) else repr(e))[:2000]
            raise
        try:
            _drop(state.store, key)  # an earlier run's put that never committed
            state.store.put_file(key, made.path, made.sha256, made.size, content_type="application/zip")
        finally:
            made.path.unlink(missing_ok=True)
        _keep(state, session, handover_id, dossier_id, school_id, actor, made)


def _keep(
    state: AppState,
    session: Session,
    handover_id: int,
    dossier_id: str,
    school_id: int,
    actor: Person,
    made: build.Built,
) -> None:
    """The row made ready with the ZIP's hash, audited; or the ZIP deleted if a destruction came first."""
    key = package_key(handover_id, dossier_id)
    with write_transaction(session):
        row = session.get(HandoverPackage, (handover_id, dossier_id), populate_existing=True)
        if row is None or row.state not in BUILDABLE:
            _drop(state.store, key)  # destroyed while it was built: it holds the destroyed bytes
            return
        row.state, row.objid, row.store_key, row.size, row.sha256 = "ready", made.objid, key, made.size, made.sha256
        row.error, row.finished_at = None, utcnow()
        audit.append(
            session,
            actor=actor,
            action="dossier.sip_kept",
            object_type="dossier",
            object_id=dossier_id,
            school_id=school_id,
            details={"handover_id": handover_id, "objid": made.objid, "sha256": made.sha256, "size": made.size},
        )


def _drop(store: ObjectStore, key: str) -> None:
    with contextlib.suppress(ObjectMissing):
        store.delete(key)
