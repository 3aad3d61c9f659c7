"""Starting a batch run: every check that can refuse happens before anything is signed, then the lease.

The lease is a conditional UPDATE (of two requests, one wins). The key lives only in the process
that took it, so a resumed run needs the principal's authorization again; nothing secret is ever
written down.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from archive import audit
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict
from archive.models import Person
from signing import certcheck, keys, ownership, pades, workflow
from signing.keys import KeySource
from signing.models import ApprovalBatch, ApprovalItem, BatchState, PreparedSignature, left_to_sign
from signing.settings import SigningSettings


def check_ready(
    session: Session,
    settings: SigningSettings,
    batch_id: str,
    actor: Person,
    key: KeySource,
    level: str,
    confirm_certificate: str | None = None,
) -> tuple[ApprovalBatch, str]:
    """Every refusal, before anything is signed: signer, batch, level, certificate and whose it is
    (a first use registers it once `confirm_certificate` names its fingerprint); returns the signer's title."""
    batch = workflow.load_batch(session, batch_id)
    title = workflow.signer_title(actor, batch.school_id, workflow.batch_signer_roles(session, batch))
    if batch.state == BatchState.signed.value:
        raise Conflict("Đợt duyệt này đã được ký xong.", "This batch has already been signed.", batch_id=batch_id)
    counts = workflow.counts(session, batch_id)
    if counts["pending"]:
        raise Conflict(
            f"Còn {counts['pending']} hồ sơ chưa duyệt hoặc trả lại; hãy quyết định hết trước khi ký.",
            f"{counts['pending']} items are still undecided; decide them all before signing.",
            pending=counts["pending"],
        )
    if not counts["approved"] + counts["returned"]:
        raise Conflict("Đợt duyệt chưa có hồ sơ nào.", "The batch has no items.", batch_id=batch_id)
    live = session.scalar(
        select(func.count())
        .select_from(PreparedSignature)
        .where(PreparedSignature.batch_id == batch_id, PreparedSignature.expires_at > utcnow())
    )
    if live and key.kind != "client":
        raise Conflict(
            "Đợt duyệt đang được ký trên máy của hiệu trưởng (thiết bị ký số); hãy đợi hoặc để phiên đó hết hạn.",
            "The batch is being signed on the principal's PC (client-side key); wait, or let that session expire.",
            batch_id=batch_id,
        )
    pades.PadesSetup.check_level(level, settings.tsa_url)
    certcheck.check_signer(settings, key.certificate, key.chain)
    ownership.require_signer(session, actor, key.certificate, confirm_certificate)
    return batch, title


def begin(
    session: Session,
    settings: SigningSettings,
    batch_id: str,
    actor: Person,
    key: KeySource,
    level: str,
    confirm_certificate: str | None = None,
) -> str:
    """Check the signer, the batch and the certificate, then take the lease; returns the lease token."""
    batch, title = check_ready(session, settings, batch_id, actor, key, level, confirm_certificate)
    owner = uuid.uuid4().hex
    now = utcnow()
    with write_transaction(session):
        taken = cast(
            CursorResult[Any],
            session.execute(
                update(ApprovalBatch)
                .where(
                    ApprovalBatch.id == batch_id,
                    (ApprovalBatch.state == BatchState.open.value)
                    | ((ApprovalBatch.state == BatchState.signing.value) & (ApprovalBatch.lease_until < now)),
                )
                .values(
                    state=BatchState.signing.value,
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=settings.signing_lease_seconds),
                    signer_id=actor.id,
                    signer_title=title,
                    level=level,
                    key_source=key.kind,
                    started_at=now,
                    last_error=None,
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if taken != 1:
            raise Conflict(
                "Đợt duyệt đang được ký bởi một yêu cầu khác; hãy đợi.",
                "The batch is being signed by another request; wait for it.",
                batch_id=batch_id,
            )
        audit.append(
            session,
            actor=actor,
            action="approval_batch.signing_started",
            object_type="approval_batch",
            object_id=batch_id,
            school_id=batch.school_id,
            details={"level": level, "key_source": key.kind, **keys.describe(key.certificate)},
        )
    return owner


def signatures_needed(session: Session, batch_id: str) -> int:
    """How many signatures the rest of the batch takes: unsigned approved items, plus the approval record."""
    left = session.scalar(select(func.count()).select_from(ApprovalItem).where(left_to_sign(batch_id)))
    return (left or 0) + 1
