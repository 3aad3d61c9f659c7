"""The bodies retention's routes return and its pages render, built in one place from the rows.

`retention.schemas` describes each (`HoldOut`, `FixityRunOut`, `DispositionOut`, `TransferOut`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from retention import disposition, fixity, holds
from retention.models import Disposition, FixityRun, Hold, Transfer


def hold_view(session: Session, hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "kind": hold.kind,
        "reason": hold.reason,
        "reference": hold.reference,
        "records": len(holds.covered(session, hold)),
        "created_by": hold.created_by.username,
        "created_at": hold.created_at,
        "released_at": hold.released_at,
        "release_reason": hold.release_reason,
        "active": hold.released_at is None,
    }


def fixity_view(session: Session, run: FixityRun, school_ids: set[int] | None) -> dict[str, Any]:
    """A run as seen by who manages `school_ids` (None: an administrator, all of it; `fixity.findings_for`)."""
    seen = fixity.findings_for(session, run, school_ids)
    return {
        "id": run.id,
        "state": seen["state"],
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "started_by": seen["started_by"],
        "blobs_checked": run.blobs_checked,
        "bytes_checked": run.bytes_checked,
        "mismatched": seen["mismatched"],
        "missing": seen["missing"],
        "audit_events_checked": run.audit_events_checked,
        "audit_problems": seen["audit_problems"],
        "tampered": seen["tampered"],
        "orphans": seen["orphans"],
        "orphans_found": seen["orphans_found"],
        "anchor_key": seen["anchor_key"],
        "error": seen["error"],
    }


def disposition_view(session: Session, shown: Disposition) -> dict[str, Any]:
    pairs = disposition.items_of(session, shown)
    return {
        "id": shown.id,
        "state": shown.state,
        "school_id": shown.school_id,
        "explanation": shown.explanation,
        "proposed_at": shown.proposed_at,
        "council": shown.council,
        "decision_number": shown.decision_number,
        "approved": shown.approved,
        "decided_at": shown.decided_at,
        "decision_signed": shown.decision_signed,
        "execute_before": disposition.execute_before(shown),
        "executed_at": shown.executed_at,
        "documents": shown.documents,
        "items": [
            {"record_id": r.id, "title": r.title, "explanation": i.explanation, "tombstone": i.tombstone}
            for i, r in pairs
        ],
    }


def transfer_view(made: Transfer) -> dict[str, Any]:
    return {
        "id": made.id,
        "school_year": made.school_year,
        "records": len(made.record_ids),
        "size": made.size,
        "sha256": made.sha256,
        "download_url": f"/api/v1/retention/transfers/{made.id}/download",
    }
