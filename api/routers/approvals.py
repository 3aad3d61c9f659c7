"""Monthly approval: submit, the principal's queue, decisions, batch signing, signature reports."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import shutil
import tempfile
import threading
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import AppState, current_user, get_session, state
from archive import blobs, mediatype, service
from archive.exceptions import InvalidInput, NotFound, UnsupportedMediaType
from archive.models import Person, Version
from archive.schemas import RowId
from archive.settings import Settings
from signing import batch as batch_runner
from signing import certcheck, csc, keys, ownership, remote, stamp, token, validate, workflow
from signing.models import ApprovalBatch, ApprovalItem, Decision, Signature

log = logging.getLogger(__name__)
router = APIRouter(tags=["approvals"])
MAX_KEY_FILE = 64 * 1024
MAX_IMAGE = 512 * 1024


class SubmitIn(BaseModel):
    period: str | None = Field(default=None, description="2026-11 (monthly), 2026-W47, 2025-2026-HK1, 2025-2026")
    note: str | None = Field(default=None, max_length=2000)


class DecisionItem(BaseModel):
    item_id: RowId
    decision: Literal["approved", "returned"]
    comment: str | None = Field(default=None, max_length=2000)


class DecisionsIn(BaseModel):
    decisions: list[DecisionItem] = Field(min_length=1, max_length=5000)


def item_out(item: ApprovalItem) -> dict[str, Any]:
    r = item.record
    return {
        "id": item.id,
        "batch_id": item.batch_id,
        "record_id": r.id,
        "title": r.title,
        "record_type": r.record_type.code,
        "subject": r.subject,
        "grade": r.grade,
        "class_name": r.class_name,
        "teacher": item.submitted_by.username,
        "teacher_name": item.submitted_by.full_name,
        "version": item.version_number,
        "submitted_at": item.submitted_at,
        "note": item.note,
        "preview_url": f"/api/v1/records/{r.id}/versions/{item.version_number}/content",
        "decision": item.decision,
        "decided_by": item.decided_by.username if item.decided_by else None,
        "decided_at": item.decided_at,
        "comment": item.comment,
        "sign_state": item.sign_state,
        "signed_version": item.signed_version,
        "stamp_place": item.stamp_place,  # where the signature shows: signing.models.StampPlace
        "error": item.error,
    }


def batch_out(session: Session, batch: ApprovalBatch, with_items: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": batch.id,
        "school_code": batch.school.code,
        "period": batch.period,
        "round": batch.round,
        "state": batch.state,
        "signer": batch.signer.username if batch.signer else None,
        "signer_title": batch.signer_title,
        "level": batch.level,
        "key_source": batch.key_source,
        "approval_record_id": batch.approval_record_id,
        "last_error": batch.last_error,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        "counts": workflow.counts(session, batch.id),
    }
    if with_items:
        out["items"] = [item_out(i) for i in workflow.items_of(session, batch.id)]
    return out


@router.post("/records/{record_id}/submit", status_code=201)
def submit(
    record_id: str,
    body: SubmitIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The teacher submits the record's current version for approval in a period."""
    item = workflow.submit(session, person, record_id, body.period, body.note)
    return item_out(item)


@router.get("/records/{record_id}/approvals")
def record_approvals(
    record_id: str, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> list[dict[str, Any]]:
    """Every submission of the record with its decision and comment (what the teacher reads)."""
    service.get_record(session, person, record_id)
    return [item_out(i) for i in workflow.items_for_record(session, record_id)]


@router.get("/approvals")
def list_batches(
    school_code: Annotated[str, Query()],
    period: Annotated[str | None, Query()] = None,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
) -> list[dict[str, Any]]:
    school = service.school_by_code(session, school_code)
    workflow.require_can_view_batches(person, school.id)
    return [batch_out(session, b) for b in workflow.batches_for(session, school.id, period)]


@router.get("/approvals/{batch_id}")
def get_batch(
    batch_id: str, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> dict[str, Any]:
    batch = workflow.load_batch(session, batch_id)
    workflow.require_can_view_batches(person, batch.school_id)
    return batch_out(session, batch, with_items=True)


@router.post("/approvals/{batch_id}/decisions")
def decide(
    batch_id: str,
    body: DecisionsIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Approve or return items (one or hundreds at once); all are recorded, or none."""
    workflow.decide(
        session,
        person,
        batch_id,
        [workflow.DecisionIn(d.item_id, Decision(d.decision), d.comment) for d in body.decisions],
    )
    return batch_out(session, workflow.load_batch(session, batch_id), with_items=True)


def _read_small(upload: UploadFile | None, limit: int, what_vi: str, what_en: str) -> bytes | None:
    if upload is None:
        return None
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"{what_vi} quá lớn.", f"The {what_en} is too large.", limit=limit)
    if not data:
        raise InvalidInput(f"{what_vi} trống.", f"The {what_en} is empty.")
    return data


@router.post("/approvals/{batch_id}/sign", status_code=202)
def sign(
    batch_id: str,
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
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Sign every approved item of the batch with one authorization; runs in the background.

    Every refusal (wrong password or PIN, revoked or expired certificate, another person's
    certificate, a batch being signed already, undecided items) is answered here, before anything
    is signed. A certificate used for the first time is answered 409 `certificate_unconfirmed`
    with its details, until the signer confirms it with `confirm_certificate`. Poll GET /approvals/{id}.
    """
    settings: Settings = app_state.settings
    image = _read_small(signature_image, MAX_IMAGE, "Ảnh chữ ký", "signature image")
    if image is not None and mediatype.sniff(image[: mediatype.HEAD_BYTES]) not in (mediatype.PNG, mediatype.JPEG):
        raise UnsupportedMediaType(
            "Ảnh chữ ký phải là tệp PNG hoặc JPEG.", "The signature image must be a PNG or JPEG file."
        )
    if image is not None:
        stamp.check_image(image)
    if key_source == "csc":
        batch = workflow.load_batch(session, batch_id)  # refusals first: nobody's PIN goes out for nothing
        workflow.signer_title(person, batch.school_id, workflow.batch_signer_roles(session, batch))
        remote_key = remote_signing(settings, credential_id, csc_token)

        def vet(certificate: Any, chain: list[Any]) -> None:
            """Refusals before the credential's PIN or OTP is spent: the certificate's validity, then whose it is."""
            certcheck.check_signer(settings, certificate, chain)
            ownership.require_signer(session, person, certificate, confirm_certificate, register_confirmed=False)

        key = csc.open_remote(
            remote_key, pin, otp, batch_runner.signatures_needed(session, batch_id), settings.signing_concurrency, vet
        )
        session.commit()
    else:
        key = _server_key(settings, key_source, pkcs12, password, pin)
    level = level or settings.default_signature_level
    try:
        owner = batch_runner.begin(session, settings, batch_id, person, key, level, confirm_certificate)
    except BaseException:
        key.close()
        raise

    def work() -> None:
        try:
            batch_runner.run(
                app_state.sessions, app_state.store, settings, batch_id, person.id, key, owner, image=image
            )
        except Exception:
            log.exception("signing batch %s failed", batch_id)
        finally:
            key.close()

    threading.Thread(target=work, name=f"sign-{batch_id[:8]}", daemon=True).start()
    session.expire_all()
    return batch_out(session, workflow.load_batch(session, batch_id))


class PrepareIn(BaseModel):
    certificate: str = Field(description="The signer's certificate, DER in base64, as read from the token")
    chain: list[str] = Field(default_factory=list, max_length=10, description="CA certificates, DER in base64")
    level: str | None = Field(default=None, description="B-B, B-T, B-LT or B-LTA")
    limit: int = Field(default=remote.PREPARE_LIMIT, description="Documents per chunk (1-500)")
    confirm_certificate: str | None = Field(
        default=None,
        max_length=100,
        description="The certificate's SHA-256 fingerprint, the signer confirming on its first use it is theirs",
    )


class SignatureValue(BaseModel):
    id: str = Field(max_length=36, description="The prepared document's id")
    signature: str = Field(max_length=20000, description="The signature value over the digest, base64")


class CompleteIn(BaseModel):
    signatures: list[SignatureValue] = Field(max_length=500)


def _b64(text: str, what_vi: str, what_en: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what_vi} không phải base64 hợp lệ.", f"The {what_en} is not valid base64.") from None


@router.post("/approvals/{batch_id}/prepare")
def prepare(
    batch_id: str,
    body: PrepareIn,
    person: Person = Depends(current_user),
    app_state: AppState = Depends(state),
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


@router.post("/approvals/{batch_id}/complete")
def complete(
    batch_id: str,
    body: CompleteIn,
    person: Person = Depends(current_user),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Key on the principal's PC: the signature values come back; each is checked, embedded and finished.

    A value that does not verify against its prepared digest and certificate refuses the whole
    request (422) before anything is stored.
    """
    values = {s.id: _b64(s.signature, "Chữ ký", "signature") for s in body.signatures}
    return remote.complete(app_state.sessions, app_state.store, app_state.settings, batch_id, person, values)


def _server_key(
    settings: Settings, key_source: str, pkcs12: UploadFile | None, password: str | None, pin: str | None
) -> keys.KeySource:
    """The key for a server-side run: a .p12 sent with the request, or the token attached to the server."""
    if key_source == "pkcs12":
        data = _read_small(pkcs12, MAX_KEY_FILE, "Tệp chữ ký số", "key file")
        if data is None or password is None:
            raise InvalidInput(
                "Hãy gửi tệp chữ ký số (.p12/.pfx) và mật khẩu của nó.", "Send the .p12/.pfx file and its password."
            )
        return keys.from_pkcs12(data, password.encode())
    if key_source == "pkcs11":
        if not settings.pkcs11_module:
            raise InvalidInput(
                "Máy chủ không gắn thiết bị ký số (chưa đặt HOSO_PKCS11_MODULE).",
                "No token is attached to the server (HOSO_PKCS11_MODULE is not set).",
            )
        if not pin:
            raise InvalidInput("Hãy nhập mã PIN của thiết bị ký số.", "Enter the token's PIN.")
        return token.from_token(
            token.TokenSpec(settings.pkcs11_module, settings.pkcs11_token_label, settings.pkcs11_key_label), pin
        )
    raise InvalidInput(
        f"Nguồn khóa {key_source!r} không hợp lệ (pkcs12, pkcs11, csc).",
        f"Unknown key source {key_source!r} (pkcs12, pkcs11, csc).",
    )


def remote_signing(settings: Settings, credential_id: str | None, token_: str | None) -> csc.CSCSpec:
    """The configured remote-signing service with the principal's credential (never a URL from the request)."""
    if not settings.csc_url:
        raise InvalidInput(
            "Máy chủ chưa cấu hình dịch vụ ký số từ xa (HOSO_CSC_URL).",
            "No remote-signing service is configured (HOSO_CSC_URL).",
        )
    if not credential_id:
        raise InvalidInput("Hãy chọn chứng thư số (credential) để ký.", "Choose the credential to sign with.")
    return csc.CSCSpec(settings.csc_url, credential_id, token_ or None)


@router.get("/records/{record_id}/signatures")
def signatures(
    record_id: str,
    version: Annotated[RowId | None, Query(description="A version number; the current one if omitted")] = None,
    online: Annotated[bool, Query(description="Fetch revocation status live (OCSP/CRL)")] = True,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Validate every signature of a version: embedded PAdES and detached CAdES (.p7s) alike."""
    record = service.get_record(session, person, record_id)
    number = version or record.current_version
    v = session.scalar(select(Version).where(Version.record_id == record.id, Version.number == number))
    if v is None:
        raise NotFound("Không có phiên bản này.", "No such version.", version=number)
    store, settings = app_state.store, app_state.settings
    reports: list[dict[str, Any]] = []
    if v.media_type == "application/pdf":
        with tempfile.TemporaryFile(dir=settings.tmp_dir) as pdf:  # a large PDF is never held in memory
            shutil.copyfileobj(_BlobReader(blobs.get(session, store, v.blob_sha256)), pdf, 1024 * 1024)
            pdf.seek(0)
            reports += validate.validate_pdf(settings, pdf, online=online)
    for sig in session.scalars(
        select(Signature).where(
            Signature.record_id == record.id, Signature.version_number == number, Signature.detached_sha256.is_not(None)
        )
    ):
        p7s = b"".join(blobs.get(session, store, sig.detached_sha256 or ""))
        content = _BlobReader(blobs.get(session, store, v.blob_sha256))
        for report in validate.validate_detached(settings, content, p7s, online=online):
            report["signature_id"] = sig.id
            report["p7s_url"] = f"/api/v1/records/{record.id}/signatures/{sig.id}/p7s"
            reports.append(report)
    return {
        "record_id": record.id,
        "version": number,
        "sha256": v.blob_sha256,
        "checked_at": datetime.now().astimezone().isoformat(),
        "all_valid": validate.all_ok(reports),
        "signatures": reports,
    }


@router.get("/records/{record_id}/signatures/{signature_id}/p7s")
def download_p7s(
    record_id: str,
    signature_id: RowId,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> Any:
    from fastapi.responses import Response

    service.get_record(session, person, record_id)
    sig = session.get(Signature, signature_id)
    if sig is None or sig.record_id != record_id or sig.detached_sha256 is None:
        raise NotFound("Không có chữ ký rời này.", "No such detached signature.")
    data = b"".join(blobs.get(session, app_state.store, sig.detached_sha256))
    return Response(
        data,
        media_type="application/pkcs7-signature",
        headers={"Content-Disposition": f'attachment; filename="{record_id}-v{sig.version_number}.p7s"'},
    )


class _BlobReader(io.RawIOBase):
    """A file-like view of a store stream, so a 2 GB recording is verified without loading it.

    Reads are served from the current chunk by offset: slicing the rest off after every small read
    copied each 1 MiB chunk over and over (a 4 KiB reader got 53 MiB/s, a 2 GB video 40 s a view).
    """

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n], self._buf = self._buf[:n], self._buf[n:]
        return n
