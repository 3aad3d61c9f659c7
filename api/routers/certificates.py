"""Registered signing certificates (signing/ownership.py): who may sign with which certificate.

A certificate is registered to its person at its first use (the person confirms it while signing)
or here, by an administrator (a PEM/DER upload); a registration is revoked here, e.g. when a token
is lost. A person may list and revoke their own; everything is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import admin_user, current_user, get_session
from archive import access, service
from archive.exceptions import Forbidden, InvalidInput, NotFound
from archive.models import Person
from archive.schemas import RowId
from signing import ownership
from signing.models import SigningCertificate

router = APIRouter(tags=["certificates"])
MAX_CERTIFICATE = 32 * 1024


class CertificateOut(BaseModel):
    id: int
    person: str
    fingerprint: str = Field(description="SHA-256 of the certificate's DER, hex")
    subject: str
    common_name: str
    serial: str
    issuer: str
    national_id: str | None = Field(description="CMND/CCCD as the certificate's subject carries it, if it does")
    not_before: datetime
    not_after: datetime
    registered_at: datetime
    registered_by: str | None
    how: str = Field(description="first_use (confirmed by its person while signing) or admin")
    name_differs: bool = Field(description="The certificate's name is not the person's full name (accepted explicitly)")
    revoked_at: datetime | None
    revoked_by: str | None
    revoked_reason: str | None


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="Why, e.g. 'mất USB token'")


def _may_see(actor: Person, person_id: int) -> None:
    if not (access.is_admin(actor) or actor.id == person_id):
        raise Forbidden(
            "Chỉ quản trị viên hoặc chính người đó xem được chứng thư số đã đăng ký.",
            "Only an administrator or the person themself may see their registered certificates.",
        )


@router.get("/people/{person_id}/certificates", response_model=list[CertificateOut])
def list_certificates(
    person_id: RowId, actor: Person = Depends(current_user), session: Session = Depends(get_session)
) -> list[dict[str, object]]:
    _may_see(actor, person_id)
    person = service.person_by_id(session, person_id)
    return [ownership.registration_out(r) for r in ownership.registered_to(session, person)]


@router.post("/people/{person_id}/certificates", response_model=CertificateOut, status_code=201)
def register_certificate(
    person_id: RowId,
    certificate: Annotated[UploadFile, File(description="The person's signing certificate, PEM or DER")],
    actor: Person = Depends(admin_user),
    session: Session = Depends(get_session),
) -> dict[str, object]:
    """An administrator registers a certificate for a person (409 if it is registered already, to anyone)."""
    person = service.person_by_id(session, person_id)
    data = certificate.file.read(MAX_CERTIFICATE + 1)
    if not data or len(data) > MAX_CERTIFICATE:
        raise InvalidInput("Tệp chứng thư số trống hoặc quá lớn.", "The certificate file is empty or too large.")
    row = ownership.register(
        session, person, ownership.load_certificate(data), by=actor, how=ownership.RegisteredHow.admin
    )
    return ownership.registration_out(row)


@router.post("/certificates/{registration_id}/revoke", response_model=CertificateOut)
def revoke_certificate(
    registration_id: RowId,
    body: RevokeIn,
    actor: Person = Depends(current_user),
    session: Session = Depends(get_session),
) -> dict[str, object]:
    """Revoke a registration (an administrator, or its own person: a lost token); it never signs here again."""
    row = session.get(SigningCertificate, registration_id)
    if row is None:
        raise NotFound("Không có chứng thư số đăng ký này.", "No such registered certificate.")
    _may_see(actor, row.person_id)
    return ownership.registration_out(ownership.revoke(session, registration_id, by=actor, reason=body.reason))
