"""The SIP of each handed-over dossier, built by the worker and kept for the school's archive.

A handover queues one job per dossier (retention/dossiers/handover.py). The job builds the
dossier's package in TT 05/2025 form (`build.build`, SIP, as the clerk who handed it over: the
same checks and audit as a package asked for on the page), puts the ZIP into the store under
`handovers/<handover>/<objid>.zip` and records its size and SHA-256 on the row; the `dossier.sip_kept`
audit event puts that hash into the audit chain, so a ZIP changed in the store later no longer
matches what the archive recorded. Built once: a job that runs again after a crash finds the row
ready and stops; one that failed says why on the row (and is retried with back-off by the queue).
"""

from __future__ import annotations

import logging

from archive import audit
from archive.db import utcnow, write_transaction
from archive.exceptions import HosoError
from archive.models import DossierHandover, HandoverPackage, Person
from flows.dossier_package import build
from flows.state import AppState

log = logging.getLogger(__name__)


def package_key(handover_id: int, objid: str) -> str:
    return f"handovers/{handover_id}/{objid}.zip"


def run(state: AppState, handover_id: int, dossier_id: str) -> None:
    """The job: build and keep the SIP, or say on its row why not (then the queue retries)."""
    with state.sessions() as session:
        row = session.get(HandoverPackage, (handover_id, dossier_id))
        handover = session.get(DossierHandover, handover_id)
        if row is None or handover is None or row.state in ("ready", "destroyed"):
            return
        actor = session.get(Person, handover.created_by_id)
        assert actor is not None
        try:
            made = build.build(session, state.settings, state.store, actor, dossier_id, "SIP")
        except Exception as e:
            log.exception("the SIP of dossier %s (handover %s) failed", dossier_id, handover_id)
            session.rollback()
            with write_transaction(session):
                again = session.get(HandoverPackage, (handover_id, dossier_id), populate_existing=True)
                assert again is not None
                again.state = "failed"
                again.error = (f"{e.vi} / {e.en}" if isinstance(e, HosoError) else repr(e))[:2000]
            raise
        try:
            key = package_key(handover_id, made.objid)
            state.store.put_file(key, made.path, made.sha256, made.size, content_type="application/zip")
        finally:
            made.path.unlink(missing_ok=True)
        with write_transaction(session):
            row = session.get(HandoverPackage, (handover_id, dossier_id), populate_existing=True)
            assert row is not None
            row.state, row.objid, row.store_key, row.size, row.sha256 = "ready", made.objid, key, made.size, made.sha256
            row.error, row.finished_at = None, utcnow()
            audit.append(
                session,
                actor=actor,
                action="dossier.sip_kept",
                object_type="dossier",
                object_id=dossier_id,
                school_id=handover.school_id,
                details={"handover_id": handover_id, "objid": made.objid, "sha256": made.sha256, "size": made.size},
            )
