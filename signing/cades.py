"""Detached CAdES signatures (.p7s) for records that are not PDFs: recordings, gradebooks.

The content is hashed as it streams from the object store, chunk by chunk, and only its SHA-256
is signed, so a 2 GB recording is signed with flat memory and without a copy on disk (it was
spooled to a temporary file first). The result is the same CMS pyHanko's `sign_general_data`
makes (detached, CAdES signed attributes over the digest) and verifies with `openssl cms -verify
-binary -content FILE -in X.p7s -inform DER`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from asn1crypto import cms
from pyhanko.sign import signers, timestamps

from signing.exceptions import ServiceUnavailable
from signing.pades import is_network_failure

CHUNK = 1024 * 1024


def sha256_of(chunks: Iterable[bytes]) -> bytes:
    """The SHA-256 of a stream of chunks (e.g. `ObjectStore.get`), never holding more than one chunk."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.digest()


async def sign_digest(signer: signers.Signer, digest: bytes, timestamper: timestamps.TimeStamper | None) -> bytes:
    """The detached .p7s over content whose SHA-256 is `digest`, timestamped at B-T and above."""
    with _tsa_failures():
        cms_obj = await signer.async_sign(digest, "sha256", use_pades=True, is_pdf_sig=False, timestamper=timestamper)
    dumped: bytes = cms_obj.dump()
    return dumped


async def sign_detached(signer: signers.Signer, content: BinaryIO, timestamper: timestamps.TimeStamper | None) -> bytes:
    """The detached .p7s over a readable file, read 1 MiB at a time."""
    return await sign_digest(signer, sha256_of(iter(lambda: content.read(CHUNK), b"")), timestamper)


async def prepare_detached(signer: signers.ExternalSigner, digest: bytes) -> bytes:
    """The signed attributes (DER) over the content's SHA-256, for a key on the principal's PC."""
    attrs = await signer.signed_attrs(digest, "sha256", use_pades=True, is_pdf_sig=False)
    dumped: bytes = attrs.dump()
    return dumped


async def finish_detached(
    signer: signers.Signer, signed_attrs: bytes, signature_value: bytes, timestamper: timestamps.TimeStamper | None
) -> bytes:
    """The .p7s around a signature value made elsewhere, timestamped at B-T and above."""
    external = signers.ExternalSigner(signer.signing_cert, signer.cert_registry, signature_value=signature_value)
    with _tsa_failures():
        cms_obj = await external.async_sign_prescribed_attributes(
            "sha256", cms.CMSAttributes.load(signed_attrs), timestamper=timestamper
        )
    dumped: bytes = cms_obj.dump()
    return dumped


@contextmanager
def _tsa_failures() -> Iterator[None]:
    """An unreachable TSA pauses the batch; anything else is a bug and propagates."""
    try:
        yield
    except Exception as e:
        if is_network_failure(e):
            raise ServiceUnavailable(
                "Dịch vụ dấu thời gian không trả lời; đợt ký tạm dừng.",
                f"The time-stamping service did not answer; the batch is paused: {e}",
            ) from e
        raise
