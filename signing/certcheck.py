"""Refuse a certificate that must not sign, before anything is signed (TT 15/2025/TT-BKHCN).

Checked: validity window, key usage (digitalSignature or nonRepudiation), key strength (RSA ≥ 2048,
ECDSA ≥ 256), a trust path to a configured root, and revocation (OCSP/CRL fetched live).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
from asn1crypto import x509
from pyhanko_certvalidator import CertificateValidator, errors
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from archive.exceptions import HosoError
from signing import trust
from signing.exceptions import CertificateRefused
from signing.settings import SigningSettings


def _vn_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%d/%m/%Y")


def check_basic(cert: x509.Certificate, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    valid = cert["tbs_certificate"]["validity"]
    not_before, not_after = valid["not_before"].native, valid["not_after"].native
    if now < not_before:
        raise CertificateRefused(
            f"Chứng thư số chưa có hiệu lực (từ {_vn_date(not_before)}).",
            f"The certificate is not valid yet (valid from {not_before:%Y-%m-%d}).",
            not_before=not_before.isoformat(),
        )
    if now > not_after:
        raise CertificateRefused(
            f"Chứng thư số đã hết hạn ngày {_vn_date(not_after)}; hãy gia hạn với nhà cung cấp.",
            f"The certificate expired on {not_after:%Y-%m-%d}; renew it with the provider.",
            not_after=not_after.isoformat(),
        )
    usage = cert.key_usage_value
    if usage is not None and not ({"digital_signature", "non_repudiation"} & set(usage.native)):
        raise CertificateRefused(
            "Chứng thư số này không dùng để ký (thiếu mục đích Digital Signature / Non-Repudiation).",
            "This certificate is not for signing (key usage lacks digitalSignature/nonRepudiation).",
            key_usage=sorted(usage.native),
        )
    algo, bits = cert.public_key.algorithm, cert.public_key.bit_size
    if (algo == "rsa" and bits < 2048) or (algo == "ec" and bits < 256):
        raise CertificateRefused(
            f"Khóa {algo.upper()} {bits} bit quá yếu (cần RSA ≥ 2048 hoặc ECDSA ≥ 256).",
            f"{algo.upper()} {bits}-bit key is too weak (RSA ≥ 2048 or ECDSA ≥ 256 required).",
        )


def check_signer(settings: SigningSettings, cert: x509.Certificate, chain: list[x509.Certificate]) -> None:
    """All checks, including the trust path and live revocation status."""
    check_basic(cert)
    if not trust.load_roots(settings):
        raise CertificateRefused(
            "Chưa cấu hình gốc tin cậy (HOSO_TRUST_ROOTS), nên không kiểm tra được chứng thư số.",
            "No trust roots are configured (HOSO_TRUST_ROOTS), so the certificate cannot be checked.",
        )

    async def validate() -> None:
        async with aiohttp.ClientSession() as http:
            context = trust.validation_context(settings, other_certs=chain, fetcher_backend=AIOHttpFetcherBackend(http))
            await CertificateValidator(cert, intermediate_certs=chain, validation_context=context).async_validate_path()

    try:
        asyncio.run(validate())
    except errors.RevokedError as e:
        raise CertificateRefused(
            "Chứng thư số đã bị thu hồi; không được dùng để ký.",
            f"The certificate has been revoked and may not sign: {e}",
        ) from None
    except (errors.ExpiredError, errors.NotYetValidError) as e:
        raise CertificateRefused(
            "Chứng thư số (hoặc chứng thư của CA cấp) không còn hiệu lực.",
            f"A certificate in the chain is not valid: {e}",
        ) from None
    except errors.PathBuildingError as e:
        raise CertificateRefused(
            "Chứng thư số không dẫn tới gốc tin cậy đã cấu hình (HOSO_TRUST_ROOTS).",
            f"The certificate does not chain to a configured trust root: {e}",
        ) from None
    except errors.InsufficientRevinfoError as e:
        raise CertificateRefused(
            "Không kiểm tra được tình trạng thu hồi (OCSP/CRL không trả lời); hãy thử lại khi có mạng.",
            f"Revocation status could not be checked (OCSP/CRL unreachable); try again when online: {e}",
        ) from None
    except (errors.PathValidationError, errors.ValidationError) as e:
        raise CertificateRefused(
            "Chứng thư số không hợp lệ để ký.", f"The certificate failed validation: {e}"
        ) from None
    except HosoError:
        raise
