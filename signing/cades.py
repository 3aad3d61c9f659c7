"""Detached CAdES signatures (.p7s) for records that are not PDFs: recordings, gradebooks.

The content is streamed from a file in chunks while it is hashed, so a 2 GB recording is signed
with flat memory. The result verifies with `openssl cms -verify -binary -content FILE -in X.p7s
-inform DER`.
"""

from __future__ import annotations

from typing import BinaryIO

from pyhanko.sign import signers, timestamps

from signing.exceptions import ServiceUnavailable
from signing.pades import is_network_failure


async def sign_detached(signer: signers.Signer, content: BinaryIO, timestamper: timestamps.TimeStamper | None) -> bytes:
    try:
        cms = await signer.async_sign_general_data(
            content, "sha256", detached=True, use_cades=True, timestamper=timestamper, chunk_size=1024 * 1024
        )
    except Exception as e:
        if is_network_failure(e):
            raise ServiceUnavailable(
                "Dịch vụ dấu thời gian không trả lời; đợt ký tạm dừng.",
                f"The time-stamping service did not answer; the batch is paused: {e}",
            ) from e
        raise
    return cms.dump()
