"""Signing as plain functions: what the approvals routes, the approval pages and the record page call.

The routers only read the request and answer; the pages call the same functions, never a route,
so a refusal is the same refusal on both. Starting a batch's signing opens the key first (every
refusal — wrong password or PIN, another person's certificate, an undecided item — is raised here,
before anything is signed), then hands the run to a thread of its own: the key lives only in that
thread and is closed when the run ends.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from archive import access, blobs, mediatype, service
from archive.exceptions import Forbidden, InvalidInput, NotFound, UnsupportedMediaType
from archive.models import Person, Version
from archive.storage import ObjectStore
from signing import batch as batch_runner
from signing import certcheck, csc, keys, levels, ownership, stamp, token, validate, workflow
from signing.models import ApprovalBatch, ApprovalItem, Signature, SigningCertificate
from signing.settings import SigningSettings

log = logging.getLogger(__name__)
MAX_KEY_FILE = 64 * 1024
MAX_IMAGE = 512 * 1024


def item_out(item: ApprovalItem) -> dict[str, Any]:
    """An approval item as the API and the queue page show it (`signing.schemas.ItemOut`)."""
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
    """A batch with its counts (and, on request, its items) (`signing.schemas.BatchOut`)."""
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


def get_batch(session: Session, person: Person, batch_id: str) -> dict[str, Any]:
    """A batch with its items, for someone who may see the school's batches."""
    batch = workflow.load_batch(session, batch_id)
    workflow.require_can_view_batches(person, batch.school_id)
    return batch_out(session, batch, with_items=True)


# -- signing a batch ---------------------------------------------------------------------------------


@dataclass
class SignRequest:
    """One authorization for a whole batch, as the API form or the approval page sent it."""

    key_source: str = "pkcs12"  # pkcs12 (a .p12 sent with the request), pkcs11 (the server's token), csc
    pkcs12: BinaryIO | None = None  # read here, at most MAX_KEY_FILE, in memory only
    password: str | None = None
    pin: str | None = None
    credential_id: str | None = None
    otp: str | None = None
    csc_token: str | None = None
    level: str | None = None
    confirm_certificate: str | None = None
    signature_image: bytes | None = None


def read_small(file: BinaryIO | None, limit: int, what_vi: str, what_en: str) -> bytes | None:
    """A small upload (a key file, a signature image), refused when empty or over `limit` bytes."""
    if file is None:
        return None
    data = file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"{what_vi} quá lớn.", f"The {what_en} is too large.", limit=limit)
    if not data:
        raise InvalidInput(f"{what_vi} trống.", f"The {what_en} is empty.")
    return data


def check_signature_image(image: bytes | None) -> None:
    if image is None:
        return
    if mediatype.sniff(image[: mediatype.HEAD_BYTES]) not in (mediatype.PNG, mediatype.JPEG):
        raise UnsupportedMediaType(
            "Ảnh chữ ký phải là tệp PNG hoặc JPEG.", "The signature image must be a PNG or JPEG file."
        )
    stamp.check_image(image)


def sign(
    session: Session,
    sessions: sessionmaker[Session],
    store: ObjectStore,
    settings: SigningSettings,
    person: Person,
    batch_id: str,
    request: SignRequest,
) -> None:
    """Open the key, check everything and take the lease here; then sign in a background thread."""
    check_signature_image(request.signature_image)
    key = open_key(session, settings, person, batch_id, request)
    level = levels.level_for(settings, levels.Purpose.approval, request.level)
    try:
        owner = batch_runner.begin(session, settings, batch_id, person, key, level, request.confirm_certificate)
    except BaseException:
        key.close()
        raise
    image = request.signature_image

    def work() -> None:
        try:
            batch_runner.run(sessions, store, settings, batch_id, person.id, key, owner, image=image)
        except Exception:
            log.exception("signing batch %s failed", batch_id)
        finally:
            key.close()

    threading.Thread(target=work, name=f"sign-{batch_id[:8]}", daemon=True).start()


def open_key(
    session: Session, settings: SigningSettings, person: Person, batch_id: str, request: SignRequest
) -> keys.KeySource:
    """The key the request names. A remote credential is vetted before its PIN or OTP is spent."""
    if request.key_source != "csc":
        return server_key(settings, request.key_source, request.pkcs12, request.password, request.pin)
    batch = workflow.load_batch(session, batch_id)  # refusals first: nobody's PIN goes out for nothing
    workflow.signer_title(person, batch.school_id, workflow.batch_signer_roles(session, batch))
    remote_key = remote_signing(settings, request.credential_id, request.csc_token)

    def vet(certificate: Any, chain: list[Any]) -> None:
        """Refusals before the credential's PIN or OTP is spent: the certificate's validity, then whose it is."""
        certcheck.check_signer(settings, certificate, chain)
        ownership.require_signer(session, person, certificate, request.confirm_certificate, register_confirmed=False)

    needed = batch_runner.signatures_needed(session, batch_id)
    key = csc.open_remote(remote_key, request.pin, request.otp, needed, settings.signing_concurrency, vet)
    session.commit()
    return key


def server_key(
    settings: SigningSettings, key_source: str, pkcs12: BinaryIO | None, password: str | None, pin: str | None
) -> keys.KeySource:
    """The key for a server-side run: a .p12 sent with the request, or the token attached to the server."""
    if key_source == "pkcs12":
        data = read_small(pkcs12, MAX_KEY_FILE, "Tệp chữ ký số", "key file")
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


def remote_signing(settings: SigningSettings, credential_id: str | None, token_: str | None) -> csc.CSCSpec:
    """The configured remote-signing service with the principal's credential (never a URL from the request)."""
    if not settings.csc_url:
        raise InvalidInput(
            "Máy chủ chưa cấu hình dịch vụ ký số từ xa (HOSO_CSC_URL).",
            "No remote-signing service is configured (HOSO_CSC_URL).",
        )
    if not credential_id:
        raise InvalidInput("Hãy chọn chứng thư số (credential) để ký.", "Choose the credential to sign with.")
    return csc.CSCSpec(settings.csc_url, credential_id, token_ or None)


# -- signature reports -------------------------------------------------------------------------------


def signature_report(
    session: Session,
    store: ObjectStore,
    settings: SigningSettings,
    person: Person,
    record_id: str,
    version: int | None = None,
    online: bool = True,
) -> dict[str, Any]:
    """Every signature of a version validated: embedded PAdES and detached CAdES (.p7s) alike."""
    record = service.get_record(session, person, record_id)
    number = version or record.current_version
    v = session.scalar(select(Version).where(Version.record_id == record.id, Version.number == number))
    if v is None:
        raise NotFound("Không có phiên bản này.", "No such version.", version=number)
    reports: list[dict[str, Any]] = []
    if v.media_type == "application/pdf":
        with tempfile.TemporaryFile(dir=settings.tmp_dir) as pdf:  # a large PDF is never held in memory
            shutil.copyfileobj(BlobReader(blobs.get(session, store, v.blob_sha256)), pdf, 1024 * 1024)
            pdf.seek(0)
            reports += validate.validate_pdf(settings, pdf, online=online)
    for sig in session.scalars(
        select(Signature).where(
            Signature.record_id == record.id, Signature.version_number == number, Signature.detached_sha256.is_not(None)
        )
    ):
        p7s = b"".join(blobs.get(session, store, sig.detached_sha256 or ""))
        content = cast(BinaryIO, BlobReader(blobs.get(session, store, v.blob_sha256)))
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


def detached_signature(
    session: Session, store: ObjectStore, person: Person, record_id: str, signature_id: int
) -> tuple[bytes, int]:
    """A detached signature's .p7s bytes and the version it signs, for a reader of the record."""
    service.get_record(session, person, record_id)
    sig = session.get(Signature, signature_id)
    if sig is None or sig.record_id != record_id or sig.detached_sha256 is None:
        raise NotFound("Không có chữ ký rời này.", "No such detached signature.")
    return b"".join(blobs.get(session, store, sig.detached_sha256)), sig.version_number


class BlobReader(io.RawIOBase):
    """A file-like view of a store stream, so a 2 GB recording is verified without loading it.

    Reads are served from the current chunk by offset: slicing the rest off after every small read
    copied each 1 MiB chunk over and over (a 4 KiB reader got 53 MiB/s, a 2 GB video 40 s a view).
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
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


# -- registered certificates (signing/ownership.py) --------------------------------------------------

MAX_CERTIFICATE = 32 * 1024


def _may_see_certificates(actor: Person, person_id: int) -> None:
    if not (access.is_admin(actor) or actor.id == person_id):
        raise Forbidden(
            "Chỉ quản trị viên hoặc chính người đó xem được chứng thư số đã đăng ký.",
            "Only an administrator or the person themself may see their registered certificates.",
        )


def certificates_of(session: Session, actor: Person, person_id: int) -> list[dict[str, object]]:
    """A person's registered certificates, for an administrator or the person themself."""
    _may_see_certificates(actor, person_id)
    person = service.person_by_id(session, person_id)
    return [ownership.registration_out(r) for r in ownership.registered_to(session, person)]


def register_certificate(session: Session, actor: Person, person_id: int, file: BinaryIO) -> dict[str, object]:
    """An administrator (the caller checks) registers a PEM/DER certificate for a person."""
    person = service.person_by_id(session, person_id)
    data = file.read(MAX_CERTIFICATE + 1)
    if not data or len(data) > MAX_CERTIFICATE:
        raise InvalidInput("Tệp chứng thư số trống hoặc quá lớn.", "The certificate file is empty or too large.")
    row = ownership.register(
        session, person, ownership.load_certificate(data), by=actor, how=ownership.RegisteredHow.admin
    )
    return ownership.registration_out(row)


def revoke_certificate(session: Session, actor: Person, registration_id: int, reason: str) -> dict[str, object]:
    """Revoke a registration (an administrator, or its own person: a lost token)."""
    row = session.get(SigningCertificate, registration_id)
    if row is None:
        raise NotFound("Không có chứng thư số đăng ký này.", "No such registered certificate.")
    _may_see_certificates(actor, row.person_id)
    return ownership.registration_out(ownership.revoke(session, registration_id, by=actor, reason=reason))
