"""Work that destroys or hands over records and needs two domains: a record's blobs (its versions and
its detached signatures), the signed destruction decision, and the transfer package's signature files.

It lives in flows because retention may not import signing (DESIGN §1): the retention steps take
these as plain callables.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Person, Record, Version
from archive.settings import Settings
from retention import disposition as disposition_flow
from retention import schedule
from signing import certcheck, keys, levels, ownership, pades, stamp
from signing.models import Signature


def record_blobs(session: Session, record_id: str) -> set[str]:
    """A record's blobs: its versions (kernel) and its detached signatures (signing)."""
    detached = session.scalars(
        select(Signature.detached_sha256).where(
            Signature.record_id == record_id, Signature.detached_sha256.is_not(None)
        )
    )
    return schedule.version_blobs(session, record_id) | {d for d in detached if d}


def sign_decision(
    settings: Settings, key: keys.KeySource, session: Session, person: Person, confirm_certificate: str | None
) -> disposition_flow.SignPdf:
    """The decision signed like an approval: certificate checked first (valid, and the signer's own),
    visible stamp, timestamp if a TSA is set (its level: `signing.levels`)."""
    certcheck.check_signer(settings, key.certificate, key.chain)
    ownership.require_signer(session, person, key.certificate, confirm_certificate)

    def sign(pdf: bytes) -> bytes:
        when = datetime.now(UTC)
        mark = stamp.render(
            title="HIỆU TRƯỞNG",
            name=key.certificate.subject.native.get("common_name", ""),
            when=when,
            verdict="ĐÃ KÝ",
            font=settings.stamp_font,
        )
        level = levels.level_for(settings, levels.Purpose.destruction_decision)
        setup = pades.PadesSetup.build(
            key.signer, level, mark, settings.stamp_page, settings.tsa_url, None, reason="Quyết định hủy tài liệu"
        )
        try:
            return asyncio.run(pades.sign(setup, pdf, "HOSO_QUYET_DINH_HUY")).pdf
        finally:
            key.close()

    return sign


def detached_files(session: Session, record: Record) -> list[tuple[str, str, str]]:
    """A record's detached signatures as (file name, sha256, media type), for the transfer package."""
    rows = session.execute(
        select(Signature.version_number, Signature.detached_sha256, Version.original_filename)
        .join(Version, (Version.record_id == Signature.record_id) & (Version.number == Signature.version_number))
        .where(Signature.record_id == record.id, Signature.detached_sha256.is_not(None))
    ).all()
    return [(f"v{n}-{name}.p7s", sha, "application/pkcs7-signature") for n, sha, name in rows if sha]
