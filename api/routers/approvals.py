"""Monthly approval: submit, the principal's queue, decisions, batch signing, signature reports.

Thin HTTP: each route reads the request and calls `signing.service`, `signing.workflow` or
`signing.remote` — the functions the approval pages call too, never these routes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from api.deps import CurrentUser, DbSession, HosoState
from api.routers import file_body
from archive import service
from archive.exceptions import InvalidInput
from archive.schemas import RowId
from signing import keys, remote, schemas, workflow
from signing import service as signing
from signing.models import Decision

router = APIRouter(tags=["approvals"])


@router.post("/records/{record_id}/submit", status_code=201, response_model=schemas.ItemOut)
def submit(record_id: str, body: schemas.SubmitIn, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    """The teacher submits the record's current version for approval in a period."""
    item = workflow.submit(session, person, record_id, body.period, body.note)
    return signing.item_out(item)


@router.get("/records/{record_id}/approvals", response_model=list[schemas.ItemOut])
def record_approvals(record_id: str, person: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    """Every submission of the record with its decision and comment (what the teacher reads)."""
    service.get_record(session, person, record_id)
    return [signing.item_out(i) for i in workflow.items_for_record(session, record_id)]


@router.get("/approvals", response_model=list[schemas.BatchOut])
def list_batches(
    school_code: Annotated[str, Query()],
    person: CurrentUser,
    session: DbSession,
    period: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    school = service.school_by_code(session, school_code)
    workflow.require_can_view_batches(person, school.id)
    return [signing.batch_out(session, b) for b in workflow.batches_for(session, school.id, period)]


@router.get("/approvals/{batch_id}", response_model=schemas.BatchWithItemsOut)
def get_batch(batch_id: str, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    return signing.get_batch(session, person, batch_id)


@router.post("/approvals/{batch_id}/decisions", response_model=schemas.BatchWithItemsOut)
def decide(batch_id: str, body: schemas.DecisionsIn, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    """Approve or return items (one or hundreds at once); all are recorded, or none."""
    workflow.decide(
        session,
        person,
        batch_id,
        [workflow.DecisionIn(d.item_id, Decision(d.decision), d.comment) for d in body.decisions],
    )
    return signing.batch_out(session, workflow.load_batch(session, batch_id), with_items=True)


@router.post("/approvals/{batch_id}/sign", status_code=202, response_model=schemas.BatchOut)
def sign(
    batch_id: str,
    person: CurrentUser,
    session: DbSession,
    app_state: HosoState,
    key_source: Annotated[
        str,
        Form(description="pkcs12 (a .p12 sent with the request), pkcs11 (the server's token) or csc (remote signing)"),
    ] = "pkcs12",
    pkcs12: Annotated[
        UploadFile | None, File(description="The principal's .p12/.pfx, used in memory, never stored")
    ] = None,
    password: Annotated[str | None, Form(description="The .p12 password, asked once for the whole batch")] = None,
    pin: Annotated[str | None, Form(description="The PIN of the server's token, or of the remote credential")] = None,
    credential_id: Annotated[str | None, Form(description="csc: the credential at the remote service")] = None,
    otp: Annotated[str | None, Form(description="csc: a one-time password instead of the PIN")] = None,
    csc_token: Annotated[str | None, Form(description="csc: the provider's OAuth token, if any")] = None,
    level: Annotated[str | None, Form(description="B-B, B-T, B-LT or B-LTA")] = None,
    confirm_certificate: Annotated[
        str | None,
        Form(
            max_length=100,
            description="The SHA-256 fingerprint of the signing certificate, when the signer confirms on its "
            "first use that it is theirs (a first use without it is answered 409 with the certificate's details)",
        ),
    ] = None,
    signature_image: Annotated[
        UploadFile | None, File(description="Optional PNG/JPEG of the handwritten signature")
    ] = None,
) -> dict[str, Any]:
    """Sign every approved item of the batch with one authorization; runs in the background.

    Every refusal (wrong password or PIN, revoked or expired certificate, another person's
    certificate, a batch being signed already, undecided items) is answered here, before anything
    is signed. A certificate used for the first time is answered 409 `certificate_unconfirmed`
    with its details, until the signer confirms it with `confirm_certificate`. Poll GET /approvals/{id}.
    """
    image = signing.read_small(
        signature_image.file if signature_image is not None else None,
        signing.MAX_IMAGE,
        "Ảnh chữ ký",
        "signature image",
    )
    request = signing.SignRequest(
        key_source=key_source,
        pkcs12=pkcs12.file if pkcs12 is not None else None,
        password=password,
        pin=pin,
        credential_id=credential_id,
        otp=otp,
        csc_token=csc_token,
        level=level,
        confirm_certificate=confirm_certificate,
        signature_image=image,
    )
    signing.sign(session, app_state.sessions, app_state.store, app_state.settings, person, batch_id, request)
    session.expire_all()
    return signing.batch_out(session, workflow.load_batch(session, batch_id))


def _b64(text: str, what_vi: str, what_en: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what_vi} không phải base64 hợp lệ.", f"The {what_en} is not valid base64.") from None


@router.post("/approvals/{batch_id}/prepare", response_model=schemas.PrepareOut)
def prepare(
    batch_id: str,
    body: schemas.PrepareIn,
    person: CurrentUser,
    app_state: HosoState,
) -> dict[str, Any]:
    """Key on the principal's PC: prepare the next chunk and return the digests its key must sign.

    Every item's signature is allocated in its PDF (or its content hashed, for a detached .p7s),
    and the SHA-256 of the CMS signed attributes is returned per item. Once every item is signed,
    the next call returns the approval record. Preparations expire (HOSO_SIGNING_PREPARED_SECONDS).
    The certificate must be the signer's: see POST /approvals/{id}/sign for the first-use confirmation.
    """
    key = keys.client_key(
        _b64(body.certificate, "Chứng thư số", "certificate"),
        [_b64(c, "Chứng thư CA", "CA certificate") for c in body.chain],
    )
    return remote.prepare(
        app_state.sessions,
        app_state.store,
        app_state.settings,
        batch_id,
        person,
        key,
        body.level,
        body.limit,
        body.confirm_certificate,
    )


@router.post("/approvals/{batch_id}/complete", response_model=schemas.CompleteOut)
def complete(
    batch_id: str,
    body: schemas.CompleteIn,
    person: CurrentUser,
    app_state: HosoState,
) -> dict[str, Any]:
    """Key on the principal's PC: the signature values come back; each is checked, embedded and finished.

    A value that does not verify against its prepared digest and certificate refuses the whole
    request (422) before anything is stored.
    """
    values = {s.id: _b64(s.signature, "Chữ ký", "signature") for s in body.signatures}
    return remote.complete(app_state.sessions, app_state.store, app_state.settings, batch_id, person, values)


@router.get("/records/{record_id}/signatures", response_model=schemas.SignaturesOut, response_model_exclude_unset=True)
def signatures(
    record_id: str,
    person: CurrentUser,
    session: DbSession,
    app_state: HosoState,
    version: Annotated[RowId | None, Query(description="A version number; the current one if omitted")] = None,
    online: Annotated[bool, Query(description="Fetch revocation status live (OCSP/CRL)")] = True,
) -> dict[str, Any]:
    """Validate every signature of a version: embedded PAdES and detached CAdES (.p7s) alike."""
    return signing.signature_report(session, app_state.store, app_state.settings, person, record_id, version, online)


@router.get(
    "/records/{record_id}/signatures/{signature_id}/p7s",
    response_class=Response,
    responses=file_body("application/pkcs7-signature", "The detached CAdES signature (.p7s)"),
)
def download_p7s(
    record_id: str, signature_id: RowId, person: CurrentUser, session: DbSession, app_state: HosoState
) -> Response:
    data, version = signing.detached_signature(session, app_state.store, person, record_id, signature_id)
    return Response(
        data,
        media_type="application/pkcs7-signature",
        headers={"Content-Disposition": f'attachment; filename="{record_id}-v{version}.p7s"'},
    )
