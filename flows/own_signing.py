"""A paper signed with the principal's own key, not the archive's seal: the destruction decision
and the approved yearly list of dossiers (danh mục hồ sơ), each the head's own act.

The certificate is checked before a byte is signed (valid, trusted, not revoked: `signing.certcheck`)
and must be the signer's own (`signing.ownership`: registered to them, or its first use confirmed),
so a .p12 borrowed from someone else is refused with nothing stored. Signed like an approval: the
visible stamp names the certificate's holder, a timestamp when a TSA is set, the level the paper's
purpose asks for (`signing.levels`). A PKCS#12 file for now: the token and remote-signing paths of
the monthly batch sign many PDFs in a browser session, not one paper inside a step.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from archive.exceptions import InvalidInput
from archive.models import Person
from flows.settings import Settings
from retention.dossiers.papers import SignPdf
from signing import certcheck, keys, levels, ownership, pades, stamp

MAX_KEY_FILE = 64 * 1024  # a .p12 is a few kB; more is not a key file


def key_from_upload(pkcs12: bytes, password: str | None) -> keys.KeySource:
    """The principal's key from an uploaded .p12 (at most MAX_KEY_FILE bytes read by the caller)."""
    if len(pkcs12) > MAX_KEY_FILE or not pkcs12:
        raise InvalidInput("Tệp chữ ký số không hợp lệ.", "The key file is empty or too large.")
    return keys.from_pkcs12(pkcs12, (password or "").encode())


def own_signer(
    settings: Settings,
    key: keys.KeySource,
    session: Session,
    person: Person,
    confirm_certificate: str | None,
    *,
    verdict: str,
    reason: str,
    field: str,
    purpose: levels.Purpose,
) -> SignPdf:
    """A signer of one PDF with `key`, once its certificate is checked and proved `person`'s own."""
    certcheck.check_signer(settings, key.certificate, key.chain)
    ownership.require_signer(session, person, key.certificate, confirm_certificate)

    def sign(pdf: bytes) -> bytes:
        mark = stamp.render(
            title="HIỆU TRƯỞNG",
            name=key.certificate.subject.native.get("common_name", ""),
            when=datetime.now(UTC),
            verdict=verdict,
            font=settings.stamp_font,
        )
        level = levels.level_for(settings, purpose)
        setup = pades.PadesSetup.build(
            key.signer, level, mark, settings.stamp_page, settings.tsa_url, None, reason=reason
        )
        try:
            return asyncio.run(pades.sign(setup, pdf, field)).pdf
        finally:
            key.close()

    return sign
