"""The principal's PC side of client-side signing: a token that signs digests, and the loop that drives hoso.

The token signs the SHA-256 the server prepared, as a raw signature: RSA PKCS#1 v1.5 over the
DigestInfo (CKM_RSA_PKCS), or ECDSA over the digest (CKM_ECDSA). That is what every USB token
supports, including those without hash-then-sign mechanisms, and the document never leaves the
server. The server checks each value against its certificate and digest before storing anything.

The HTTP client is the standard library's: the PC needs nothing beyond hoso itself.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, cast

from asn1crypto import x509

from archive.exceptions import HosoError, InvalidInput
from signing import token
from signing.models import BatchState

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class TokenDigestSigner:
    """One login to the token; `sign_digest` as often as the batch needs; `close()` logs out."""

    def __init__(self, spec: token.TokenSpec, pin: str) -> None:
        from pkcs11 import KeyType, ObjectClass

        self._session: Any = cast(Any, token.open_session(spec, pin))  # a python-pkcs11 Session
        try:
            found, others = token.signing_keys(self._session)
            chosen = token.choose(found, spec.key_label)
            self.certificate: x509.Certificate = chosen.certificate
            self.chain: list[x509.Certificate] = others
            self._key = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=chosen.key_id)
            self._is_rsa = self._key.key_type == KeyType.RSA
        except BaseException:
            self._session.close()
            raise

    def sign_digest(self, digest: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.util.ec import encode_ecdsa_signature

        if len(digest) != 32:
            raise InvalidInput("Mã băm phải là SHA-256 (32 byte).", "The digest must be SHA-256 (32 bytes).")
        if self._is_rsa:
            return bytes(self._key.sign(SHA256_DIGEST_INFO + digest, mechanism=Mechanism.RSA_PKCS))
        return bytes(encode_ecdsa_signature(self._key.sign(digest, mechanism=Mechanism.ECDSA)))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> TokenDigestSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HosoServer:
    """A signed-in JSON client for hoso's API."""

    def __init__(self, base_url: str, timeout: float = 300) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.timeout = timeout
        self.token: str | None = None

    def login(self, username: str, password: str) -> None:
        body = urllib.parse.urlencode({"username": username, "password": password}).encode()
        answer = self._call("POST", "/auth/token", body, "application/x-www-form-urlencoded")
        self.token = answer["access_token"]

    def get(self, path: str, **query: str) -> Any:
        return self._call("GET", f"{path}?{urllib.parse.urlencode(query)}" if query else path)

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        return self._call("POST", path, json.dumps(payload).encode(), "application/json")

    def _call(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> Any:
        request = urllib.request.Request(self.base + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (the configured server)
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                detail = json.loads(e.read())
            except ValueError:
                detail = {}
            raise HosoError(
                detail.get("message") or f"Máy chủ hoso trả lời lỗi {e.code}.",
                detail.get("message_en") or f"The hoso server answered {e.code}.",
                status=e.code,
                error=detail.get("error", "error"),
                detail=detail.get("detail") or {},
            ) from None
        except urllib.error.URLError as e:
            raise HosoError(
                f"Không kết nối được máy chủ hoso ({self.base}).",
                f"Cannot reach the hoso server {self.base}: {e.reason}",
            ) from None


Progress = Callable[[int, int], None]
AskConfirmation = Callable[[HosoError], str]  # a first use's refusal → the fingerprint the person confirmed


def sign_batch(
    server: HosoServer,
    signer: TokenDigestSigner,
    batch_id: str,
    level: str | None,
    progress: Progress | None = None,
    confirm_certificate: str | None = None,
    ask: AskConfirmation | None = None,
) -> dict[str, Any]:
    """Prepare, sign and complete chunk after chunk until the batch (and its approval record) is signed.

    The token's certificate must be the principal's: on its first use the server answers 409
    `certificate_unconfirmed`, and `ask` (shown the certificate) returns the fingerprint confirmed."""
    certificate = base64.b64encode(signer.certificate.dump()).decode()
    chain = [base64.b64encode(c.dump()).decode() for c in signer.chain]
    request: dict[str, Any] = {"certificate": certificate, "chain": chain} | ({"level": level} if level else {})
    if confirm_certificate:
        request["confirm_certificate"] = confirm_certificate
    signed, failed, placed = 0, [], []
    while True:
        try:
            chunk = server.post(f"/approvals/{batch_id}/prepare", request)
        except HosoError as refusal:
            first_use = refusal.context.get("error") == "certificate_unconfirmed"
            if not first_use or ask is None or "confirm_certificate" in request:
                raise
            request["confirm_certificate"] = ask(refusal)
            continue
        failed += chunk["failed"]
        if not chunk["items"]:
            raise HosoError("Máy chủ không chuẩn bị được tài liệu nào để ký.", "The server prepared nothing to sign.")
        values = [
            {
                "id": item["id"],
                "signature": base64.b64encode(signer.sign_digest(bytes.fromhex(item["digest"]))).decode(),
            }
            for item in chunk["items"]
        ]
        done = server.post(f"/approvals/{batch_id}/complete", {"signatures": values})
        signed += done["signed"]
        placed += done.get("placed", [])
        if progress:
            counts = done["counts"]
            progress(counts["signed"] + counts["failed"], counts["approved"])
        if done["state"] == BatchState.signed:
            return {**done, "signed": signed, "failed": failed, "placed": placed}
