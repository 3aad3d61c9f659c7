"""Detached CAdES signatures (.p7s) for records that are not PDFs: recordings, gradebooks.

The content is streamed from a file in chunks while it is hashed, so a 2 GB recording is signed
with flat memory. The result verifies with `openssl cms -verify -binary -content FILE -in X.p7s
-inform DER`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from asn1crypto import cms
from pyhanko.sign import signers, timestamps

from signing.exceptions import ServiceUnavailable
from signing.pades import is_network_failure


async def sign_detached(signer: signers.Signer, content: BinaryIO, timestamper: timestamps.TimeStamper | None) -> bytes:
    with _tsa_failures():
        cms_obj = await signer.async_sign_general_data(
            content, "sha256", detached=True, use_cades=True, timestamper=timestamper, chunk_size=1024 * 1024
        )
    return cms_obj.dump()


async def prepare_detached(signer: signers.ExternalSigner, content: BinaryIO) -> bytes:
    """The signed attributes (DER) over the content's SHA-256, streamed, for a key on the principal's PC."""
    digest = hashlib.sha256()
    while chunk := content.read(1024 * 1024):
        digest.update(chunk)
    attrs = await signer.signed_attrs(digest.digest(), "sha256", use_pades=True, is_pdf_sig=False)
    return attrs.dump()


async def finish_detached(
    signer: signers.Signer, signed_attrs: bytes, signature_value: bytes, timestamper: timestamps.TimeStamper | None
) -> bytes:
    """The .p7s around a signature value made elsewhere, timestamped at B-T and above."""
    external = signers.ExternalSigner(signer.signing_cert, signer.cert_registry, signature_value=signature_value)
    with _tsa_failures():
        cms_obj = await external.async_sign_prescribed_attributes(
            "sha256", cms.CMSAttributes.load(signed_attrs), timestamper=timestamper
        )
    return cms_obj.dump()


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
