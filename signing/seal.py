"""The archive's own seal: a key that signs what hoso hands out (evidence packages, transfer packages).

A package must prove its integrity years later without hoso, so its manifest is signed (CAdES
detached, timestamped when a TSA is configured). In production the seal is the school's or the
department's organisation certificate (`HOSO_SEAL_PKCS12` + `HOSO_SEAL_PASSWORD`), which chains to
the national root. Without one, hoso creates a self-signed seal once in the data folder.

A signature alone proves nothing about who made it: anyone can create a key and a certificate that
carries the archive's name, rebuild a package with hoso's own writer and seal it. What ties a seal
to this archive is either a chain to a root the inspector trusts, or the seal certificate's SHA-256
fingerprint, which the archive publishes (the evidence-packages page, the inspector's home page,
every inspection grant) and `hoso verify --seal-fingerprint` compares (`keys.fingerprint` is the
one place a fingerprint is computed and formatted).
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign import timestamps

from archive.exceptions import InvalidInput
from signing import cades, keys
from signing.keys import KeySource
from signing.settings import SigningSettings

SELF_SIGNED_CN = "hoso — con dấu hệ thống (tự ký)"  # a CN holds at most 64 characters


def _self_signed_blob() -> tuple[bytes, bytes]:
    """One RSA-3072 key and a 30-year self-signed certificate, as (PKCS#12, its password)."""
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
    password = secrets.token_urlsafe(32).encode()
    blob = pkcs12.serialize_key_and_certificates(
        b"hoso-seal", key, cert, None, serialization.BestAvailableEncryption(password)
    )
    return blob, password


def _create_self_signed(directory: Path) -> None:
    """Write the self-signed seal (key and password, 0600) into `directory`, once, even when two
    processes race (the web page publishing the fingerprint and the worker sealing a package): both
    files are written into a private folder that is renamed into place; the loser's is discarded, so
    the fingerprint published is the one every package is sealed with."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    blob, password = _self_signed_blob()
    staging = directory.parent / f".{directory.name}-{secrets.token_hex(8)}"
    staging.mkdir(mode=0o700)
    try:
        for name, data in (("seal.password", password), ("seal.p12", blob)):
            path = staging / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        try:
            os.rename(staging, directory)  # atomic; fails when another process's seal is already there
        except OSError:
            if (directory / "seal.p12").exists():
                return  # another process won: its seal is the one
            # a folder without a seal: what an older hoso left when it stopped between its two files
            try:
                directory.rename(directory.parent / f".{directory.name}-incomplete-{secrets.token_hex(4)}")
                os.rename(staging, directory)
            except OSError:
                if not (directory / "seal.p12").exists():  # else another process repaired it first
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _self_signed_files(settings: SigningSettings) -> tuple[Path, Path]:
    directory = settings.data_dir / "seal"
    if not (directory / "seal.p12").exists():
        _create_self_signed(directory)
    return directory / "seal.p12", directory / "seal.password"


def load(settings: SigningSettings) -> tuple[KeySource, bool]:
    """The configured seal, else the self-signed one (created on first use); True when self-signed."""
    if settings.seal_pkcs12:
        password = (settings.seal_password or "").encode()
        return keys.from_pkcs12(Path(settings.seal_pkcs12).read_bytes(), password), False
    p12, password_file = _self_signed_files(settings)
    return keys.from_pkcs12(p12.read_bytes(), password_file.read_bytes()), True


@lru_cache(maxsize=8)
def _fingerprint_of_file(path: str, password: bytes, _mtime_ns: int, _size: int) -> str:
    try:
        _key, cert, _extra = pkcs12.load_key_and_certificates(Path(path).read_bytes(), password or None)
    except (ValueError, OSError):
        cert = None
    if cert is None:
        raise InvalidInput(
            "Không mở được chứng thư niêm phong của hệ thống (HOSO_SEAL_PKCS12): sai mật khẩu hoặc tệp hỏng.",
            "The archive's seal certificate (HOSO_SEAL_PKCS12) cannot be opened: wrong password or a damaged file.",
        )
    return keys.fingerprint(cert.public_bytes(serialization.Encoding.DER))


def published_fingerprint(settings: SigningSettings) -> str:
    """The fingerprint of the certificate this archive seals its packages with: what it publishes.
    Cached per file version (opening a PKCS#12 costs tens of milliseconds; pages show it often)."""
    if settings.seal_pkcs12:
        path, password = Path(settings.seal_pkcs12), (settings.seal_password or "").encode()
    else:
        path, password_file = _self_signed_files(settings)
        password = password_file.read_bytes()
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None:
        raise InvalidInput(
            f"Không tìm thấy chứng thư niêm phong của hệ thống: {path}.",
            f"The archive's seal certificate is missing: {path}.",
        )
    return _fingerprint_of_file(str(path.resolve()), password, stat.st_mtime_ns, stat.st_size)


def seal(settings: SigningSettings, key: KeySource, data: bytes) -> bytes:
    """A detached CAdES signature over `data`, timestamped when a TSA is configured (B-T), else B-B."""
    timestamper = timestamps.HTTPTimeStamper(settings.tsa_url, timeout=20) if settings.tsa_url else None
    return asyncio.run(cades.sign_detached(key.signer, io.BytesIO(data), timestamper))
