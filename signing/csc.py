"""Remote signing (ký số từ xa) over the Cloud Signature Consortium API v1: one PIN or OTP, the whole batch.

Many principals hold their certificate at a provider's signing service instead of on a USB token.
pyHanko's `CSCSigner` speaks the protocol (credentials/info, signatures/signHash) and batches
hashes into one signHash call; what it leaves to us is the authorization and when to commit:

* **One authorization.** With SCAL 1 (the SAD is not tied to hashes) hoso asks for one SAD for
  every signature the batch still needs (items + the approval record) *before anything is signed*,
  so a wrong PIN or OTP is answered at once and nothing is half-done. With SCAL 2 (the SAD must
  name the hashes) each signHash call needs its own SAD; the PIN the principal typed once is held in
  this process's memory for the batch and sent with each authorization, as the token's PIN is held
  by its open session. An OTP is single-use, so SCAL 2 with an OTP cannot cover a batch from the
  server: that is refused with a message pointing to the PIN.
* **Commit.** The batch runner keeps a few documents in flight; a hash waits until its signHash
  call is made. `RemoteSigner` commits when the call is full (the service's `multisign`, at most the
  documents in flight) or a moment after the last hash arrived, so a short tail never waits forever.

The service URL is configuration (`HOSO_CSC_URL`), never taken from a request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from asn1crypto import x509
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import csc_signer

from archive.exceptions import HosoError, InvalidInput, NotFound
from signing.exceptions import ServiceUnavailable
from signing.keys import KeySource

# looks at a credential's certificate and its chain before the PIN or OTP is sent; raises to refuse it
Vet = Callable[[x509.Certificate, list[x509.Certificate]], None]

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=30)
LINGER_SECONDS = 0.05


@dataclass(frozen=True)
class CSCSpec:
    """Where the principal's remote key is: the provider's service, the credential, an optional OAuth token."""

    service_url: str
    credential_id: str
    token: str | None = None


class BatchAuthorization(csc_signer.CSCAuthorizationManager):
    """The SAD for a batch: fetched once (SCAL 1) or per signHash call with the PIN kept for the batch (SCAL 2)."""

    def __init__(
        self,
        session_info: csc_signer.CSCServiceSessionInfo,
        credential: csc_signer.CSCCredentialInfo,
        pin: str | None,
        otp: str | None,
        sad: csc_signer.CSCAuthorizationInfo | None,
    ) -> None:
        super().__init__(session_info, credential)
        self._pin, self._otp, self._sad = pin, otp, sad
        self.http: aiohttp.ClientSession | None = None

    async def authorize_signature(self, hash_b64s: list[str]) -> csc_signer.CSCAuthorizationInfo:
        if not self.credential_info.hash_pinning_required and self._sad is not None and not _expired(self._sad):
            return self._sad
        if self._pin is None:
            raise ServiceUnavailable(
                "Phiên ủy quyền ký số từ xa đã hết hạn; hãy ký lại với mã OTP mới.",
                "The remote-signing authorization expired; sign again with a new OTP.",
            )
        assert self.http is not None, "RemoteSigner.attach() binds the run's HTTP session"
        pinned = hash_b64s if self.credential_info.hash_pinning_required else None
        body = self.format_csc_auth_request(num_signatures=len(hash_b64s), pin=self._pin, hash_b64s=pinned)
        try:
            self._sad = await _authorize(self.http, self.csc_session_info, body)
        except (InvalidInput, NotFound) as e:  # mid-batch nobody is waiting for a 4xx: pause, say why
            raise ServiceUnavailable(f"{e.vi} Đợt ký tạm dừng.", f"{e.en} The batch is paused.") from e
        return self._sad

    def forget(self) -> None:
        self._pin = self._otp = None
        self._sad = None


class RemoteSigner(csc_signer.CSCSigner):
    """pyHanko's CSC signer, bound to the batch run's event loop, committing full or lingering calls."""

    def __init__(self, auth: BatchAuthorization, batch_size: int) -> None:
        super().__init__(None, auth, batch_size=max(1, batch_size), sign_timeout=120)  # type: ignore[arg-type]
        self._ticker: asyncio.Task[None] | None = None
        self._commit_error: BaseException | None = None

    def attach(self, http: aiohttp.ClientSession) -> None:
        """The run's HTTP session (aiohttp sessions belong to one event loop: the run's)."""
        self.session = http
        self.auth_manager.http = http  # type: ignore[attr-defined]
        self._current_batch = None
        self._ticker = None

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return bytes(self.est_raw_signature_size)
        tbs_hash = csc_signer.base64_digest(data, digest_algorithm)
        batch = await self._ensure_batch(digest_algorithm)
        ix = batch.add(tbs_hash)
        if ix == self.batch_size - 1:
            await self._commit_quietly()
        else:
            self._kick()
        await batch.notifier.wait()
        if not batch.results:
            raise _unavailable(self._commit_error)
        return batch.results[ix]

    def _kick(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        """Commit whatever waits a moment after it arrived; stop when nothing waits."""
        while True:
            await asyncio.sleep(LINGER_SECONDS)
            batch = self._current_batch
            if batch is None:
                return
            if not batch.initiated:
                await self._commit_quietly()

    async def _commit_quietly(self) -> None:
        try:
            await self.commit()
        except (SigningError, HosoError, aiohttp.ClientError, TimeoutError) as e:
            log.warning("remote signing call failed: %r", e)
            self._commit_error = e


def _unavailable(cause: BaseException | None) -> HosoError:
    if isinstance(cause, HosoError):
        return cause
    return ServiceUnavailable(
        "Dịch vụ ký số từ xa không ký được; đợt ký tạm dừng, chưa hồ sơ nào bị đánh dấu.",
        f"The remote-signing service did not sign; the batch is paused: {cause!r}",
    )


def _expired(sad: csc_signer.CSCAuthorizationInfo) -> bool:
    return sad.expires_at is not None and sad.expires_at <= datetime.now(UTC) + timedelta(seconds=30)


async def _post(http: aiohttp.ClientSession, url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    """One CSC call; the service's refusals become messages a principal understands."""
    try:
        async with http.post(url, headers=headers, json=body, timeout=TIMEOUT) as response:
            if response.status < 400:
                return await response.json(content_type=None)
            text = (await response.text())[:300]
    except (aiohttp.ClientError, TimeoutError) as e:
        raise ServiceUnavailable(
            "Không kết nối được dịch vụ ký số từ xa; hãy thử lại sau.",
            f"The remote-signing service cannot be reached: {e!r}",
        ) from e
    if response.status in (401, 403):
        raise InvalidInput(
            "Dịch vụ ký số từ xa từ chối phiên đăng nhập (token hết hạn hoặc không đúng).",
            f"The remote-signing service refused the login token: {response.status} {text}",
        )
    if response.status == 404:
        raise NotFound(
            "Dịch vụ ký số từ xa không có chứng thư số (credential) này.",
            f"The remote-signing service has no such credential: {text}",
        )
    if response.status >= 500:
        raise ServiceUnavailable(
            "Dịch vụ ký số từ xa đang lỗi; hãy thử lại sau.", f"The remote-signing service failed: {response.status}"
        )
    raise InvalidInput(
        "Dịch vụ ký số từ xa từ chối xác thực: sai mã PIN/OTP, hoặc chứng thư số bị khóa.",
        f"The remote-signing service refused the authorization (wrong PIN/OTP or a locked credential): {text}",
    )


async def _authorize(
    http: aiohttp.ClientSession, info: csc_signer.CSCServiceSessionInfo, body: dict[str, Any]
) -> csc_signer.CSCAuthorizationInfo:
    data = await _post(http, info.endpoint_url("credentials/authorize"), info.auth_headers, body)
    try:
        return csc_signer.CSCAuthorizationManager.parse_csc_auth_response(data)
    except SigningError:
        raise ServiceUnavailable(
            "Dịch vụ ký số từ xa trả lời không hợp lệ.", "The remote-signing service gave no SAD."
        ) from None


async def _open(
    spec: CSCSpec, pin: str | None, otp: str | None, signatures: int, in_flight: int, vet: Vet | None
) -> tuple[BatchAuthorization, int]:
    info = csc_signer.CSCServiceSessionInfo(spec.service_url.rstrip("/"), spec.credential_id, oauth_token=spec.token)
    async with aiohttp.ClientSession() as http:
        data = await _post(
            http,
            info.endpoint_url("credentials/info"),
            info.auth_headers,
            {"credentialID": spec.credential_id, "certificates": "chain", "certInfo": False},
        )
        try:
            credential = csc_signer._process_certificate_info_response(data)
        except SigningError as e:
            raise ServiceUnavailable(
                "Dịch vụ ký số từ xa không trả về chứng thư số của người ký.",
                f"The remote-signing service returned no usable certificate: {e}",
            ) from None
        if str(data.get("key", {}).get("status", "enabled")) != "enabled":
            raise InvalidInput(
                "Khóa ký số từ xa đang bị vô hiệu hóa tại nhà cung cấp.",
                "The remote signing key is disabled at the provider.",
            )
        if vet is not None:  # e.g. another person's credential: refused before its PIN or OTP is spent
            # in a thread: the vetting runs its own event loop (the certificate's live revocation check)
            await asyncio.to_thread(vet, credential.signing_cert, list(credential.chain))
        if credential.hash_pinning_required and pin is None:
            raise InvalidInput(
                "Chứng thư số này (SCAL2) cần mã PIN để ký cả đợt; mã OTP chỉ dùng được một lần.",
                "This credential (SCAL 2) needs its PIN to sign a batch; an OTP is good for one call only.",
            )
        sad = None
        if not credential.hash_pinning_required:
            manager = BatchAuthorization(info, credential, pin, otp, None)
            body = manager.format_csc_auth_request(
                num_signatures=signatures, pin=pin, otp=otp, description="hoso: ký duyệt"
            )
            sad = await _authorize(http, info, body)
    batch_size = max(1, min(credential.max_batch_size, in_flight))
    return BatchAuthorization(info, credential, pin, otp, sad), batch_size


def open_remote(
    spec: CSCSpec, pin: str | None, otp: str | None, signatures: int, in_flight: int, vet: Vet | None = None
) -> KeySource:
    """Fetch the credential's certificates and (SCAL 1) its one SAD for `signatures` signatures.

    `vet` sees the credential's certificate before the PIN or OTP is sent, and may refuse it."""
    if not (pin or otp):
        raise InvalidInput("Hãy nhập mã PIN hoặc OTP của dịch vụ ký số từ xa.", "Enter the remote-signing PIN or OTP.")
    if not spec.credential_id:
        raise InvalidInput("Hãy chọn chứng thư số (credential) để ký.", "Choose the credential to sign with.")
    auth, batch_size = asyncio.run(_open(spec, pin or None, otp or None, max(1, signatures), in_flight, vet))
    signer = RemoteSigner(auth, batch_size)
    return KeySource(
        kind="csc",
        signer=signer,
        certificate=auth.credential_info.signing_cert,
        chain=list(auth.credential_info.chain),
        closer=auth.forget,
        attach=signer.attach,
    )
