"""Registered signing certificates (signing/ownership.py): who may sign with which certificate.

A certificate is registered to its person at its first use (the person confirms it while signing)
or here, by an administrator (a PEM/DER upload); a registration is revoked here, e.g. when a token
is lost. A person may list and revoke their own; everything is audited (`signing.service`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from api.deps import AdminUser, CurrentUser, DbSession
from archive import service as archive_service
from archive.schemas import RowId
from signing import schemas, seal_ownership
from signing import service as signing

router = APIRouter(tags=["certificates"])


@router.get("/people/{person_id}/certificates", response_model=list[schemas.CertificateOut])
def list_certificates(person_id: RowId, actor: CurrentUser, session: DbSession) -> list[dict[str, object]]:
    return signing.certificates_of(session, actor, person_id)


@router.post("/people/{person_id}/certificates", response_model=schemas.CertificateOut, status_code=201)
def register_certificate(
    person_id: RowId,
    certificate: Annotated[UploadFile, File(description="The person's signing certificate, PEM or DER")],
    actor: AdminUser,
    session: DbSession,
) -> dict[str, object]:
    """An administrator registers a certificate for a person (409 if it is registered already, to anyone)."""
    return signing.register_certificate(session, actor, person_id, certificate.file)


@router.post("/certificates/{registration_id}/revoke", response_model=schemas.CertificateOut)
def revoke_certificate(
    registration_id: RowId, body: schemas.RevokeIn, actor: CurrentUser, session: DbSession
) -> dict[str, object]:
    """Revoke a registration (an administrator, or its own person: a lost token); it never signs here again."""
    return signing.revoke_certificate(session, actor, registration_id, body.reason)


@router.get("/schools/{code}/seal-certificates", response_model=list[schemas.SchoolSealOut])
def list_seals(code: str, actor: CurrentUser, session: DbSession) -> list[dict[str, object]]:
    """The school's registered seal certificates (signing/seal_ownership.py)."""
    return seal_ownership.school_seals(session, actor, archive_service.school_by_code(session, code))


@router.post("/schools/{code}/seal-certificates", response_model=schemas.SchoolSealOut, status_code=201)
def register_seal(
    code: str,
    certificate: Annotated[UploadFile, File(description="The school's seal certificate, PEM or DER")],
    actor: CurrentUser,
    session: DbSession,
) -> dict[str, object]:
    """The principal or an administrator registers the school's (renewed) seal certificate; 422 when it is
    a person's registered certificate or another school's seal, 409 when it is this school's already."""
    school = archive_service.school_by_code(session, code)
    data = certificate.file.read(seal_ownership.MAX_CERTIFICATE + 1)
    return seal_ownership.register_upload(session, actor, school, data)
