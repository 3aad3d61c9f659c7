"""The archive's own seal: a key that signs what hoso hands out (evidence packages, transfer packages).

A package must prove its integrity years later without hoso, so its manifest is signed (CAdES
detached, timestamped when a TSA is configured). In production the seal is the school's or the
department's organisation certificate (`HOSO_SEAL_PKCS12` + `HOSO_SEAL_PASSWORD`), which chains to
the national root. Without one, hoso creates a self-signed seal once in the data folder and says so
in every report: it still proves that nothing changed after sealing, but not who sealed.
"""

from __future__ import annotations

import asyncio
import io
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign import timestamps

from archive.settings import Settings
from signing import cades, keys
from signing.keys import KeySource

SELF_SIGNED_CN = "hoso — con dấu hệ thống (tự ký)"  # a CN holds at most 64 characters


def _create_self_signed(directory: Path) -> None:
    """One RSA-3072 key and a 30-year self-signed certificate, written atomically, password beside it (0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SELF_SIGNED_CN),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hoso"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * 30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(32)
    blob = pkcs12.serialize_key_and_certificates(
        b"hoso-seal", key, cert, None, serialization.BestAvailableEncryption(password.encode())
    )
    for name_, data in (("seal.password", password.encode()), ("seal.p12", blob)):
        tmp = directory / f"{name_}.tmp"
        tmp.write_bytes(data)
        tmp.chmod(0o600)
        tmp.replace(directory / name_)


def load(settings: Settings) -> tuple[KeySource, bool]:
    """The configured seal, else the self-signed one (created on first use); True when self-signed."""
    if settings.seal_pkcs12:
        password = (settings.seal_password or "").encode()
        return keys.from_pkcs12(Path(settings.seal_pkcs12).read_bytes(), password), False
    directory = settings.data_dir / "seal"
    if not (directory / "seal.p12").exists():
        _create_self_signed(directory)
    password = (directory / "seal.password").read_bytes()
    return keys.from_pkcs12((directory / "seal.p12").read_bytes(), password), True


def seal(settings: Settings, key: KeySource, data: bytes) -> bytes:
    """A detached CAdES signature over `data`, timestamped when a TSA is configured (B-T), else B-B."""
    timestamper = timestamps.HTTPTimeStamper(settings.tsa_url, timeout=20) if settings.tsa_url else None
    return asyncio.run(cades.sign_detached(key.signer, io.BytesIO(data), timestamper))
