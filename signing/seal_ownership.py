"""Whose seal is this? An authenticated copy is sealed only with a certificate registered to its school.

The authentication page says "<school> xác thực … chữ ký số của cơ quan (chứng thư số của con
dấu)". `certcheck` proves a certificate is valid and trusted, not that it is the school's seal: a
teacher's personal certificate, or another unit's seal, passes it. So, as for a person's signing
certificate (signing/ownership.py), each school has registered seal certificates, and issuing a
copy asks `require_school_seal` before anything is stamped or signed:

- registered to this school → seal;
- a person's registered certificate, or another school's seal → refused (422), for ever: a
  fingerprint is one school's seal or one person's certificate, never both;
- the school has a registered seal and this is not it → refused (422) naming why; the principal or
  an administrator registers a renewed seal (`register_seal`, audited);
- the school has none yet → its clerk or principal confirms once, after seeing the subject,
  issuer, serial, validity and SHA-256 fingerprint, "Đây là chứng thư số con dấu của trường"
  (sending the fingerprint back); without that the answer is 409 with the certificate's facts
  (and a warning when the school's name is not in its subject); with it, the certificate is
  registered to the school (audited) and the copy is issued.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive import access, audit
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput
from archive.models import Person, Role, School
from signing import keys, ownership
from signing.models import SchoolSeal, SigningCertificate

REGISTRARS = frozenset({Role.principal})  # besides administrators: who registers a renewed seal


class SealRefused(InvalidInput):
    """The certificate is not (and may not become) this school's seal."""

    code = "seal_not_the_schools"


class SealUnconfirmed(Conflict):
    """The school has no seal registered yet: its clerk or principal confirms this one is it."""

    code = "seal_unconfirmed"


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def names_school(certificate: x509.Certificate, school: School) -> bool:
    """The school's name is the subject's common name or organisation (NFC, case-insensitive)."""
    native = certificate.subject.native
    names = [native.get("common_name"), native.get("organization_name")]
    return any(isinstance(n, str) and _norm(school.name) in _norm(n) for n in names)


def seals_of(session: Session, school_id: int) -> list[SchoolSeal]:
    return list(
        session.scalars(
            select(SchoolSeal)
            .where(SchoolSeal.school_id == school_id)
            .order_by(SchoolSeal.registered_at)
            .execution_options(populate_existing=True)
        )
    )


def _taken(session: Session, fingerprint: str, school: School) -> SealRefused | None:
    """Why this fingerprint can never be `school`'s seal, if it cannot."""
    if session.scalar(select(SigningCertificate.id).where(SigningCertificate.fingerprint == fingerprint)):
        return SealRefused(
            "Chứng thư số này đã được đăng ký là chứng thư số cá nhân của một người: "
            "không bao giờ được dùng làm con dấu của trường.",
            "This certificate is registered as a person's own certificate: it is never a school's seal.",
            fingerprint=fingerprint,
        )
    other = session.scalar(select(SchoolSeal).where(SchoolSeal.fingerprint == fingerprint))
    if other is not None and other.school_id != school.id:
        return SealRefused(
            "Chứng thư số này là con dấu đã đăng ký của một đơn vị khác, không phải của trường này.",
            "This certificate is the registered seal of another unit, not of this school.",
            fingerprint=fingerprint,
        )
    return None


def require_school_seal(
    session: Session, actor: Person, school: School, certificate: x509.Certificate, confirm: str | None
) -> SchoolSeal:
    """Refuse, before anything is sealed, a certificate that is not the school's; register a confirmed first one."""
    about = ownership.facts(certificate)
    refused = _taken(session, about.fingerprint, school)
    if refused is not None:
        raise refused
    registered = seals_of(session, school.id)
    mine = next((s for s in registered if s.fingerprint == about.fingerprint), None)
    if mine is not None:
        return mine
    if registered:
        raise SealRefused(
            f"Chứng thư số này ({about.subject}) không phải chứng thư số con dấu đã đăng ký của {school.name}. "
            "Hãy dùng con dấu của trường; nếu con dấu đã được cấp lại, hiệu trưởng hoặc quản trị viên "
            "đăng ký chứng thư số mới trước.",
            f"This certificate ({about.subject}) is not {school.name}'s registered seal certificate. Use the "
            "school's seal; if the seal was renewed, the principal or an administrator registers the new one first.",
            fingerprint=about.fingerprint,
        )
    if keys.parse_fingerprint(confirm or "") != about.fingerprint:
        matches = names_school(certificate, school)
        warn_vi = "" if matches else f" Lưu ý: tên trên chứng thư số không phải tên trường ({school.name})."
        warn_en = "" if matches else f" Note: the name on the certificate is not the school's ({school.name})."
        raise SealUnconfirmed(
            "Lần đầu dùng chứng thư số con dấu cho trường: hãy kiểm tra (chủ thể, nơi cấp, số sê-ri, hiệu lực, "
            f"dấu vân tay SHA-256) và xác nhận \u201cĐây là chứng thư số con dấu của trường\u201d.{warn_vi}",
            "The school's seal certificate is used for the first time: check it (subject, issuer, serial, "
            f"validity, SHA-256 fingerprint) and confirm \u201cthis is the school's seal certificate\u201d.{warn_en}",
            certificate=about.as_dict(),
            name_matches=matches,
            school_name=school.name,
        )
    return register_seal(session, school, certificate, by=actor, how=ownership.RegisteredHow.first_use)


def register_seal(
    session: Session, school: School, certificate: x509.Certificate, *, by: Person, how: ownership.RegisteredHow
) -> SchoolSeal:
    """Register `certificate` as `school`'s seal, audited in the same transaction; refused if it is taken."""
    about = ownership.facts(certificate)
    row = SchoolSeal(
        school_id=school.id,
        fingerprint=about.fingerprint,
        subject=about.subject[:500],
        serial=about.serial[:80],
        issuer=about.issuer[:500],
        not_before=about.not_before,
        not_after=about.not_after,
        certificate=certificate.dump(),
        registered_at=utcnow(),
        registered_by_id=by.id,
        how=how.value,
    )
    try:
        with write_transaction(session):
            refused = _taken(session, about.fingerprint, school)
            if refused is not None:
                raise refused
            if session.scalar(select(SchoolSeal.id).where(SchoolSeal.fingerprint == about.fingerprint)):
                raise Conflict(
                    "Chứng thư số này đã được đăng ký là con dấu của trường.",
                    "This certificate is registered as the school's seal already.",
                )
            session.add(row)
            session.flush()
            audit.append(
                session,
                actor=by,
                action="school_seal.registered",
                object_type="school_seal",
                object_id=row.id,
                school_id=school.id,
                details={"how": how.value, **{k: v for k, v in about.as_dict().items() if k != "national_id"}},
            )
    except IntegrityError:  # a racing twin registered the same fingerprint first
        session.rollback()
        raise Conflict(
            "Chứng thư số này vừa được đăng ký; hãy thử lại.", "This certificate was just registered; try again."
        ) from None
    return row


def may_register(actor: Person, school_id: int) -> None:
    if not (access.is_admin(actor) or access.roles_at(actor, school_id) & REGISTRARS):
        raise Forbidden(
            "Chỉ hiệu trưởng của trường hoặc quản trị viên đăng ký chứng thư số con dấu của trường.",
            "Only the school's principal or an administrator registers the school's seal certificate.",
        )


def seal_out(row: SchoolSeal) -> dict[str, Any]:
    return {
        "id": row.id,
        "school_code": row.school.code,
        "fingerprint": row.fingerprint,
        "subject": row.subject,
        "serial": row.serial,
        "issuer": row.issuer,
        "not_before": row.not_before,
        "not_after": row.not_after,
        "registered_at": row.registered_at,
        "registered_by": row.registered_by.username,
        "how": row.how,
    }


MAX_CERTIFICATE = 32 * 1024


def school_seals(session: Session, actor: Person, school: School) -> list[dict[str, Any]]:
    """The school's registered seals, for its clerk, principal or an administrator."""
    if not (access.is_admin(actor) or access.roles_at(actor, school.id) & {Role.principal, Role.clerk}):
        raise Forbidden(
            "Chỉ văn thư, hiệu trưởng của trường hoặc quản trị viên xem được con dấu đã đăng ký.",
            "Only the school's clerk, principal or an administrator sees its registered seals.",
        )
    return [seal_out(row) for row in seals_of(session, school.id)]


def register_upload(session: Session, actor: Person, school: School, data: bytes) -> dict[str, Any]:
    """The principal or an administrator registers a (renewed) seal certificate from a PEM/DER file."""
    may_register(actor, school.id)
    if not data or len(data) > MAX_CERTIFICATE:
        raise InvalidInput("Tệp chứng thư số trống hoặc quá lớn.", "The certificate file is empty or too large.")
    certificate = ownership.load_certificate(data)
    return seal_out(register_seal(session, school, certificate, by=actor, how=ownership.RegisteredHow.admin))
