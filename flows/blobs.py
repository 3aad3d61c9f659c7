"""A record's blobs, as every retention step needs them: its versions (the kernel's) and its detached
signatures (signing's). Locking, holds, the sweep, destruction and restore all take this one function,
so a blob hoso must keep is never missed; it is a flow because retention may not import signing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention import schedule
from signing.models import Signature


def record_blobs(session: Session, record_id: str) -> set[str]:
    """A record's blobs: its versions (kernel) and its detached signatures (signing)."""
    detached = session.scalars(
        select(Signature.detached_sha256).where(
            Signature.record_id == record_id, Signature.detached_sha256.is_not(None)
        )
    )
    return schedule.version_blobs(session, record_id) | {d for d in detached if d}
