"""`hoso demo-cert`: a PKCS#12 to try the monthly signing with, labelled a test certificate everywhere.

A newcomer has no token from a licensed provider on day one. The demo root and every certificate
it issues say "THỬ NGHIỆM — KHÔNG CÓ GIÁ TRỊ PHÁP LÝ" in their names, the validation report marks
their signatures as made with a test certificate, and the root is trusted only where
`HOSO_TRUST_DEMO_ROOT` is set (`make run` sets it; production configuration does not).

`cryptography` builds the certificates: it is already here under pyHanko and is the maintained
X.509 builder in Python, so no hand-written ASN.1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from signing.settings import SigningSettings

MARK = "hoso DEMO"
LABEL = "THỬ NGHIỆM — KHÔNG CÓ GIÁ TRỊ PHÁP LÝ"
ROOT_FILE = "hoso-demo-root.pem"
ROOT_KEY_FILE = "hoso-demo-root-key.pem"


def demo_dir(settings: SigningSettings) -> Path:
    return settings.data_dir / "demo-pki"


def root_path(settings: SigningSettings) -> Path:
    return demo_dir(settings) / ROOT_FILE


def is_demo(cert: asn1_x509.Certificate | None) -> bool:
    """Issued by (or being) the demo root: its organisation name carries the mark."""
    if cert is None:
        return False
    names = (cert.issuer.native.get("organization_name", ""), cert.subject.native.get("organization_name", ""))
    return any(MARK in str(n) for n in names)


def _name(common: str, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{MARK} ({LABEL})"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Written whole or not at all (a temporary file renamed into place); keys readable by their owner only."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.replace(path)


def _root(settings: SigningSettings) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The demo root of this archive: made once, then reused so every demo signer chains to it."""
    folder = demo_dir(settings)
    cert_file, key_file = folder / ROOT_FILE, folder / ROOT_KEY_FILE
    if cert_file.exists() and key_file.exists():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key, x509.load_pem_x509_certificate(cert_file.read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    now = datetime.now(UTC)
    name = _name("hoso DEMO Root CA", "Gốc thử nghiệm")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write_atomic(key_file, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    _write_atomic(cert_file, cert.public_bytes(pem), 0o644)
    return key, cert


@dataclass(frozen=True)
class DemoCert:
    path: Path
    subject: str
    not_after: datetime
    root: Path


def create(
    settings: SigningSettings, full_name: str, title: str, out: Path, password: str, days: int = 730
) -> DemoCert:
    """A signer certificate for `full_name` under the demo root, written as a PKCS#12 to `out`.

    X.509 names hold at most 64 characters: the name gets " (THỬ NGHIỆM)", the organisation the
    full label."""
    root_key, root = _root(settings)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    subject = _name(f"{full_name} (THỬ NGHIỆM)", title)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )  # digitalSignature, nonRepudiation
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    bundle = pkcs12.serialize_key_and_certificates(
        f"{full_name} (thử nghiệm)".encode(),
        key,
        cert,
        [root],
        serialization.BestAvailableEncryption(password.encode()),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(out, bundle)
    return DemoCert(out, subject.rfc4514_string(), cert.not_valid_after_utc, root_path(settings))
