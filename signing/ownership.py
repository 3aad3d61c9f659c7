"""Whose certificate is this? The signer must be the person the stamp names.

The stamp and the approval record name the certificate's subject: that is what the signature
proves. Without this check a principal could sign with a colleague's .p12 (or a colleague's
token, or remote credential) and the archive would say, for decades, that the colleague signed.
So each person has registered signing certificates, and every entry point that signs (server-side
batch runs over PKCS#12, PKCS#11 and CSC, the client-side placement, the disposition decision)
asks `require_signer` before anything is signed:

- registered to this person, not revoked → sign;
- registered to another person, or revoked → refused (403), nothing signed;
- registered to nobody → the person must confirm, once, that it is theirs ("Đây là chứng thư số
  của tôi") by sending back its SHA-256 fingerprint; without it the answer is 409 with the
  certificate's details (and a warning when its name is not the person's); with it the
  certificate is registered to them (audited) and the run goes on.

An administrator may also register a certificate for a person, or revoke one (a lost token). A
fingerprint is registered once, for ever: a revoked certificate cannot come back under anyone.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import pem, x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive import audit
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Person
from signing import keys
from signing.models import SchoolSeal, SigningCertificate


class Ownership(enum.StrEnum):
    own = "own"  # registered to the signing person, not revoked
    unregistered = "unregistered"  # nobody's yet: its first use, to be confirmed
    another_person = "another_person"  # registered to somebody else
    revoked = "revoked"  # its registration was revoked (a lost token, a certificate replaced)


class RegisteredHow(enum.StrEnum):
    first_use = "first_use"  # the person confirmed it when signing with it the first time
    admin = "admin"  # an administrator registered it for the person


@dataclass(frozen=True)
class CertificateFacts:
    """What a person checks before saying "this certificate is mine"."""

    fingerprint: str  # SHA-256 of the DER, as `signing.keys.fingerprint` spells it
    subject: str
    common_name: str
    serial: str  # hex
    issuer: str
    national_id: str | None
    not_before: datetime
    not_after: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "subject": self.subject,
            "common_name": self.common_name,
            "serial": self.serial,
            "issuer": self.issuer,
            "national_id": self.national_id,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
        }


@dataclass(frozen=True)
class Verdict:
    """The one answer to "may this person sign with this certificate", with what to show them."""

    ownership: Ownership
    facts: CertificateFacts
    name_matches: bool  # the certificate's CN is the person's full name (NFC, case-insensitive)
    registration: SigningCertificate | None = None

    @property
    def may_sign(self) -> bool:
        return self.ownership == Ownership.own


# A CMND has 9 digits, a CCCD 12; Vietnamese CAs write them as "CMND:…", "CCCD:…" (or "HC:…" for a
# passport) in the subject's UID or serialNumber. Only what is written there is read.
_NATIONAL_ID = re.compile(r"^\s*(?:(CMND|CCCD|CMT|HC|HCVN|PASSPORT)\s*[:\-]?\s*)?([0-9A-Z]{8,20})\s*$", re.IGNORECASE)


def facts(certificate: x509.Certificate) -> CertificateFacts:
    validity = certificate["tbs_certificate"]["validity"]
    native = certificate.subject.native
    return CertificateFacts(
        fingerprint=fingerprint(certificate),
        subject=certificate.subject.human_friendly,
        common_name=str(native.get("common_name", "")),
        serial=format(certificate.serial_number, "x"),
        issuer=certificate.issuer.human_friendly,
        national_id=national_id(certificate),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
    )


def fingerprint(certificate: x509.Certificate) -> str:
    """hoso's one spelling of a certificate's SHA-256 (`signing.keys.fingerprint`, as OpenSSL prints it)."""
    return keys.fingerprint(certificate.dump())


def national_id(certificate: x509.Certificate) -> str | None:
    """The CMND/CCCD the subject carries in its UID or serialNumber, as written ("CCCD:001…"); else None.

    A bare value counts only if it is 9 or 12 digits (the shapes of a CMND and a CCCD): a tax code
    ("MST:…") or an arbitrary serial is not a national ID.
    """
    native = certificate.subject.native
    for attribute in ("user_id", "serial_number"):
        values = native.get(attribute)
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str):
                continue
            found = _NATIONAL_ID.match(value)
            if found and (found.group(1) or (found.group(2).isdigit() and len(found.group(2)) in (9, 12))):
                return value.strip()[:40]
    return None


def same_name(a: str, b: str) -> bool:
    """Unicode NFC, case-insensitive, spaces collapsed; diacritics count ("Hòa" is not "Hoa")."""

    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    return bool(a.strip()) and norm(a) == norm(b)


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate uploaded by an administrator: PEM or DER, refused plainly if it is neither."""
    try:
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        certificate = x509.Certificate.load(data)
        _ = certificate.subject.human_friendly, certificate.serial_number  # parse now, not later
    except (ValueError, TypeError, KeyError, OSError):
        raise InvalidInput(
            "Tệp không phải chứng thư số X.509 (PEM hoặc DER).", "The file is not an X.509 certificate (PEM or DER)."
        ) from None
    return certificate


# -- the one decision ------------------------------------------------------------------------------


def verdict(session: Session, person: Person, certificate: x509.Certificate) -> Verdict:
    """Whose certificate this is, as far as hoso knows; never raises."""
    about = facts(certificate)
    found = session.scalar(
        select(SigningCertificate)
        .where(SigningCertificate.fingerprint == about.fingerprint)
        .execution_options(populate_existing=True)  # a revocation made meanwhile counts (expire_on_commit=False)
    )
    matches = same_name(about.common_name, person.full_name)
    if found is None:
        return Verdict(Ownership.unregistered, about, matches)
    if found.revoked_at is not None:
        return Verdict(Ownership.revoked, about, matches, found)
    if found.person_id != person.id:
        return Verdict(Ownership.another_person, about, matches, found)
    return Verdict(Ownership.own, about, matches, found)


class CertificateNotYours(Forbidden):
    """The certificate is registered to another person, or revoked: it may not sign for this person."""

    code = "certificate_not_yours"


class CertificateUnconfirmed(Conflict):
    """A certificate nobody has registered: the person must confirm it is theirs (`confirm_certificate`)."""

    code = "certificate_unconfirmed"


def require_signer(
    session: Session,
    person: Person,
    certificate: x509.Certificate,
    confirm: str | None,
    *,
    register_confirmed: bool = True,
) -> Verdict:
    """Refuse, before anything is signed, a certificate that is not the person's; register a confirmed first use.

    `confirm` is the fingerprint the person confirmed ("Đây là chứng thư số của tôi"). With
    `register_confirmed=False` nothing is written (a check made before a remote PIN is spent; the
    signing run's own check registers).
    """
    decided = verdict(session, person, certificate)
    if decided.ownership == Ownership.own:
        return decided
    if decided.ownership == Ownership.another_person:
        raise CertificateNotYours(
            "Chứng thư số này đã được đăng ký cho một người khác: không ai được ký bằng chứng thư số của người khác. "
            "Hãy dùng chứng thư số của chính bạn.",
            "This certificate is registered to another person: nobody may sign with someone else's certificate. "
            "Use your own certificate.",
            fingerprint=decided.facts.fingerprint,
            subject=decided.facts.subject,
        )
    if decided.ownership == Ownership.revoked:
        registration = decided.registration
        assert registration is not None and registration.revoked_at is not None
        own = registration.person_id == person.id
        why = f" (lý do: {registration.revoked_reason})" if own and registration.revoked_reason else ""
        why_en = f" (reason: {registration.revoked_reason})" if own and registration.revoked_reason else ""
        raise CertificateNotYours(
            f"Chứng thư số này đã bị thu hồi khỏi danh sách chứng thư số đăng ký ngày "
            f"{registration.revoked_at:%d/%m/%Y}{why}; không được dùng để ký.",
            f"This certificate's registration was revoked on {registration.revoked_at:%Y-%m-%d}{why_en}; "
            "it may not sign.",
            fingerprint=decided.facts.fingerprint,
            subject=decided.facts.subject,
        )
    if keys.parse_fingerprint(confirm or "") != decided.facts.fingerprint:
        name_vi = (
            ""
            if decided.name_matches
            else f" Lưu ý: tên trên chứng thư số ({decided.facts.common_name}) khác tên của bạn ({person.full_name})."
        )
        name_en = (
            ""
            if decided.name_matches
            else f" Note: the name on the certificate ({decided.facts.common_name}) is not yours ({person.full_name})."
        )
        raise CertificateUnconfirmed(
            "Lần đầu ký bằng chứng thư số này: hãy xác nhận \u201cĐây là chứng thư số của tôi\u201d "
            f"(chủ thể, nơi cấp, số sê-ri, hiệu lực, dấu vân tay SHA-256) rồi ký lại.{name_vi}",
            "This certificate is used for the first time: confirm \u201cthis is my certificate\u201d "
            f"(subject, issuer, serial, validity, SHA-256 fingerprint), then sign again.{name_en}",
            certificate=decided.facts.as_dict(),
            name_matches=decided.name_matches,
            person_name=person.full_name,
        )
    if not register_confirmed:
        return decided
    registration = register(session, person, certificate, by=person, how=RegisteredHow.first_use)
    return Verdict(Ownership.own, decided.facts, decided.name_matches, registration)


# -- registration and revocation -------------------------------------------------------------------


def register(
    session: Session, person: Person, certificate: x509.Certificate, *, by: Person, how: RegisteredHow
) -> SigningCertificate:
    """Register the certificate to `person`, audited in the same transaction; refused if it is registered already."""
    about = facts(certificate)
    matches = same_name(about.common_name, person.full_name)
    row = SigningCertificate(
        person_id=person.id,
        fingerprint=about.fingerprint,
        subject=about.subject[:500],
        common_name=about.common_name[:200],
        serial=about.serial[:80],
        issuer=about.issuer[:500],
        national_id=about.national_id,
        not_before=about.not_before,
        not_after=about.not_after,
        certificate=certificate.dump(),
        registered_at=utcnow(),
        registered_by_id=by.id,
        how=how.value,
        name_differs=not matches,
    )
    try:
        with write_transaction(session):
            taken = session.scalar(
                select(SigningCertificate).where(SigningCertificate.fingerprint == about.fingerprint)
            )
            if taken is not None:
                raise _already(taken, person)
            if session.scalar(select(SchoolSeal.id).where(SchoolSeal.fingerprint == about.fingerprint)):
                raise Conflict(  # signing/seal_ownership.py: one school's seal, never also a person's
                    "Chứng thư số này là chứng thư số con dấu của một trường, không phải của một người.",
                    "This certificate is a school's seal certificate, not a person's.",
                    fingerprint=about.fingerprint,
                )
            session.add(row)
            session.flush()
            audit.append(
                session,
                actor=by,
                action="signing_certificate.registered",
                object_type="signing_certificate",
                object_id=row.id,
                details={
                    "person": person.username,
                    "how": how.value,
                    "name_differs": not matches,
                    **{k: v for k, v in about.as_dict().items() if k != "national_id"},
                },
            )
    except IntegrityError:  # a racing twin registered the same fingerprint first
        session.rollback()
        taken = session.scalar(select(SigningCertificate).where(SigningCertificate.fingerprint == about.fingerprint))
        assert taken is not None
        raise _already(taken, person) from None
    return row


def _already(taken: SigningCertificate, person: Person) -> Conflict:
    if taken.revoked_at is not None:
        return Conflict(
            "Chứng thư số này đã bị thu hồi; không đăng ký lại được.",
            "This certificate was revoked; it cannot be registered again.",
            fingerprint=taken.fingerprint,
        )
    if taken.person_id == person.id:
        return Conflict(
            "Chứng thư số này đã được đăng ký cho người này.",
            "This certificate is registered to this person already.",
            fingerprint=taken.fingerprint,
        )
    return Conflict(
        "Chứng thư số này đã được đăng ký cho một người khác.",
        "This certificate is registered to another person.",
        fingerprint=taken.fingerprint,
    )


def revoke(session: Session, registration_id: int, *, by: Person, reason: str) -> SigningCertificate:
    """Revoke a registration (a lost token, a replaced certificate): it never signs again here. Audited."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Hãy ghi lý do thu hồi.", "Give the reason for the revocation.")
    with write_transaction(session):
        row = session.get(SigningCertificate, registration_id, populate_existing=True)
        if row is None:
            raise NotFound("Không có chứng thư số đăng ký này.", "No such registered certificate.")
        if row.revoked_at is not None:
            raise Conflict("Chứng thư số này đã bị thu hồi rồi.", "This certificate is revoked already.")
        row.revoked_at, row.revoked_by_id, row.revoked_reason = utcnow(), by.id, reason[:1000]
        audit.append(
            session,
            actor=by,
            action="signing_certificate.revoked",
            object_type="signing_certificate",
            object_id=row.id,
            details={"person": row.person.username, "fingerprint": row.fingerprint, "reason": row.revoked_reason},
        )
    session.expire(row, ["revoked_by"])  # loaded (as nobody) before; read again when asked
    return row


def registered_to(session: Session, person: Person) -> list[SigningCertificate]:
    return list(
        session.scalars(
            select(SigningCertificate)
            .where(SigningCertificate.person_id == person.id)
            .order_by(SigningCertificate.registered_at)
            .execution_options(populate_existing=True)
        )
    )


def registration_out(row: SigningCertificate) -> dict[str, Any]:
    return {
        "id": row.id,
        "person": row.person.username,
        "fingerprint": row.fingerprint,
        "subject": row.subject,
        "common_name": row.common_name,
        "serial": row.serial,
        "issuer": row.issuer,
        "national_id": row.national_id,
        "not_before": row.not_before,
        "not_after": row.not_after,
        "registered_at": row.registered_at,
        "registered_by": row.registered_by.username if row.registered_by else None,
        "how": row.how,
        "name_differs": row.name_differs,
        "revoked_at": row.revoked_at,
        "revoked_by": row.revoked_by.username if row.revoked_by else None,
        "revoked_reason": row.revoked_reason,
    }
