"""The trust store and validation contexts: which roots an inspector's validator would accept.

TT 15/2025/TT-BKHCN asks signing software to verify along a trust path to the national root; the
roots are read from `HOSO_TRUST_ROOTS` (files or folders of PEM/DER certificates), never built in.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import pem, x509
from pyhanko_certvalidator import ValidationContext

from signing import demo_cert
from signing.settings import SigningSettings

CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


def _load(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if pem.detect(data):
        return [
            x509.Certificate.load(der) for kind, _h, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"
        ]
    return [x509.Certificate.load(data)]


def load_roots(settings: SigningSettings) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for part in filter(None, (p.strip() for p in settings.trust_roots.split(","))):
        path = Path(part)
        files = sorted(f for f in path.iterdir() if f.suffix.lower() in CERT_SUFFIXES) if path.is_dir() else [path]
        for f in files:
            roots.extend(_load(f))
    demo = demo_cert.root_path(settings)
    if settings.trust_demo_root and demo.exists():
        roots.extend(_load(demo))
    return roots


def validation_context(
    settings: SigningSettings,
    other_certs: list[x509.Certificate] | None = None,
    moment: datetime | None = None,
    revocation_mode: str | None = None,
    allow_fetching: bool = True,
    fetcher_backend: Any = None,
    roots: list[x509.Certificate] | None = None,
) -> ValidationContext:
    """A fresh context (they cache what they fetched); pass `roots` to read the trust store once per run."""
    return ValidationContext(
        fetcher_backend=fetcher_backend,
        trust_roots=roots if roots is not None else load_roots(settings),
        other_certs=other_certs or [],
        moment=moment,
        allow_fetching=allow_fetching,
        revocation_mode=revocation_mode or settings.revocation_mode,
    )
