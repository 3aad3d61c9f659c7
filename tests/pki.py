"""A real test PKI for signing tests and benchmarks: certomancer, served over HTTP on 127.0.0.1.

root → intermediate → principal certificates (one good, one vice principal, one revoked, one
expired, one with the wrong key usage), the archive's organisation seal (`seal`), the
seal of the test world's school (`school_seal`), a TSA, an OCSP
responder and CRLs. Validity dates are relative to today so the PKI never ages out. Keys are
generated at start (RSA-2048) and never committed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ARCH = "hoso"
PKCS12_PASSWORD = b"mat-khau-p12"
KEYS = [
    "root",
    "interm",
    "ocsp",
    "tsa",
    "principal",
    "vice",
    "revoked",
    "expired",
    "wrong_usage",
    "other_school",
    "seal",
    "school_seal",
]


def _ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _signer_cert(cn: str, title: str, *, valid_from: datetime, valid_to: datetime, usage: list[str]) -> dict:
    return {
        "issuer": "interm",
        "validity": {"valid-from": _ts(valid_from), "valid-to": _ts(valid_to)},
        "extensions": [
            {"id": "key_usage", "critical": True, "smart-value": {"schema": "key-usage", "params": usage}},
            {
                "id": "crl_distribution_points",
                "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["interm"]}},
            },
            {
                "id": "authority_information_access",
                "smart-value": {
                    "schema": "aia-urls",
                    "params": {"ocsp-responder-names": ["interm"], "ca-issuer-links": [{"repo": "interm"}]},
                },
            },
        ],
    }


def config(key_dir: Path, now: datetime) -> dict[str, Any]:
    year = timedelta(days=365)
    signer_usage = ["digital_signature", "non_repudiation"]
    entities = {
        "root": {"common-name": "Hoso Test Root CA"},
        "interm": {"common-name": "Hoso Test Issuing CA"},
        "ocsp": {"common-name": "Hoso Test OCSP"},
        "tsa": {"common-name": "Hoso Test TSA"},
        "principal": {"common-name": "Nguyễn Thị Hoa", "organizational-unit-name": "Trường Tiểu học A"},
        "vice": {"common-name": "Vũ Thị Thu", "organizational-unit-name": "Trường Tiểu học A"},
        "revoked": {"common-name": "Trần Văn Thu Hồi", "organizational-unit-name": "Trường Tiểu học A"},
        "expired": {"common-name": "Lê Văn Hết Hạn", "organizational-unit-name": "Trường Tiểu học A"},
        "wrong_usage": {"common-name": "Phạm Văn Sai", "organizational-unit-name": "Trường Tiểu học A"},
        "other_school": {"common-name": "Đỗ Văn Bình", "organizational-unit-name": "Trường Tiểu học B"},
        "seal": {"common-name": "Phòng GD&ĐT Huyện A — hồ sơ số", "organizational-unit-name": "Con dấu hệ thống"},
        "school_seal": {  # the seal of the test world's school THA (an authenticated copy's seal)
            "common-name": "Trường Tiểu học An Bình",
            "organization-name": "Trường Tiểu học An Bình",
            "organizational-unit-name": "Con dấu",
        },
    }
    certs: dict[str, Any] = {
        "root": {
            "subject": "root",
            "issuer": "root",
            "validity": {"valid-from": _ts(now - 10 * year), "valid-to": _ts(now + 30 * year)},
            "extensions": [
                {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                {
                    "id": "key_usage",
                    "critical": True,
                    "smart-value": {
                        "schema": "key-usage",
                        "params": ["digital_signature", "key_cert_sign", "crl_sign"],
                    },
                },
            ],
        },
        "interm": {
            "issuer": "root",
            "validity": {"valid-from": _ts(now - 9 * year), "valid-to": _ts(now + 20 * year)},
            "extensions": [
                {"id": "basic_constraints", "critical": True, "value": {"ca": True, "path-len-constraint": 0}},
                {
                    "id": "key_usage",
                    "critical": True,
                    "smart-value": {
                        "schema": "key-usage",
                        "params": ["digital_signature", "key_cert_sign", "crl_sign"],
                    },
                },
                {
                    "id": "crl_distribution_points",
                    "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}},
                },
            ],
        },
        "ocsp": {
            "issuer": "interm",
            "validity": {"valid-from": _ts(now - year), "valid-to": _ts(now + 10 * year)},
            "extensions": [
                {
                    "id": "key_usage",
                    "critical": True,
                    "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
                },
                {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                {"id": "ocsp_no_check"},
            ],
        },
        "tsa": {
            "issuer": "root",
            "validity": {"valid-from": _ts(now - year), "valid-to": _ts(now + 10 * year)},
            "extensions": [
                {
                    "id": "key_usage",
                    "critical": True,
                    "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
                },
                {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                {
                    "id": "crl_distribution_points",
                    "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}},
                },
            ],
        },
        "principal": _signer_cert("", "", valid_from=now - year, valid_to=now + 2 * year, usage=signer_usage),
        "vice": _signer_cert("", "", valid_from=now - year, valid_to=now + 2 * year, usage=signer_usage),
        "other_school": _signer_cert("", "", valid_from=now - year, valid_to=now + 2 * year, usage=signer_usage),
        "seal": _signer_cert("", "", valid_from=now - year, valid_to=now + 2 * year, usage=signer_usage),
        "school_seal": _signer_cert("", "", valid_from=now - year, valid_to=now + 2 * year, usage=signer_usage),
        "revoked": {
            **_signer_cert("", "", valid_from=now - year, valid_to=now + 2 * year, usage=signer_usage),
            "revocation": {"revoked-since": _ts(now - timedelta(days=30)), "reason": "key_compromise"},
        },
        "expired": _signer_cert("", "", valid_from=now - 3 * year, valid_to=now - year, usage=signer_usage),
        "wrong_usage": _signer_cert("", "", valid_from=now - year, valid_to=now + 2 * year, usage=["key_encipherment"]),
    }
    return {
        "keysets": {ARCH: {"path-prefix": str(key_dir), "keys": {k: {"path": f"{k}.key.pem"} for k in KEYS}}},
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "VN", "organization-name": "Hoso Test PKI"},
                "entities": entities,
                "certs": certs,
                "services": {
                    "ocsp": {"interm": {"for-issuer": "interm", "responder-cert": "ocsp", "signing-key": "ocsp"}},
                    "crl-repo": {
                        "root": {"for-issuer": "root", "signing-key": "root", "simulated-update-schedule": "P90D"},
                        "interm": {"for-issuer": "interm", "signing-key": "interm", "simulated-update-schedule": "P7D"},
                    },
                    "cert-repo": {
                        "root": {"for-issuer": "root", "publish-issued-certs": True},
                        "interm": {"for-issuer": "interm", "publish-issued-certs": False},
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


def generate_keys(key_dir: Path) -> None:
    key_dir.mkdir(parents=True, exist_ok=True)
    for label in KEYS:
        path = key_dir / f"{label}.key.pem"
        if path.exists():
            continue
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


@dataclass
class TestPKI:
    """A running PKI: the certomancer architecture plus the base URL of its services."""

    arch: Any
    url: str
    directory: Path
    config: Any = None  # the CertomancerConfig (the CSC test service signs with its keys)

    __test__ = False  # not a pytest test class

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/{ARCH}/tsa/tsa"

    def cert_der(self, label: str) -> bytes:
        return self.arch.get_cert(label).dump()

    def root_pem_path(self) -> Path:
        path = self.directory / "root.crt"
        if not path.exists():
            from asn1crypto import pem

            path.write_bytes(pem.armor("CERTIFICATE", self.cert_der("root")))
        return path

    def pkcs12(self, label: str, password: bytes = PKCS12_PASSWORD) -> bytes:
        return self.arch.package_pkcs12(label, password=password)

    def pkcs12_file(self, label: str, password: bytes = PKCS12_PASSWORD) -> Path:
        path = self.directory / f"{label}.p12"
        path.write_bytes(self.pkcs12(label, password))
        return path

    def private_key_pem(self, label: str) -> bytes:
        return (self.directory / "keys" / f"{label}.key.pem").read_bytes()


class _Delegate:
    """A WSGI app whose target is set after the socket is bound (the URL is in the certificates)."""

    target: Any = None

    def __call__(self, environ, start_response):
        return self.target(environ, start_response)


def keep_service_keys() -> None:
    """certomancer re-parses its TSA/OCSP/CRL key for every response (~35 ms for RSA: the TSA answered
    only ~27 stamps/s); this backend parses each key once. The signatures are the same bytes."""
    from certomancer import crypto_utils
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if isinstance(crypto_utils.CRYPTO_BACKEND, _KeptKeyBackend):
        return
    crypto_utils.CRYPTO_BACKEND = _KeptKeyBackend(hashes, padding)


class _KeptKeyBackend:
    def __init__(self, hashes: Any, padding: Any) -> None:
        from certomancer.crypto_utils import PycaCryptographyBackend

        self._base = PycaCryptographyBackend()
        self._hashes, self._padding = hashes, padding
        self._loaded: dict[bytes, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    def generic_sign(self, private_key: Any, tbs_bytes: bytes, sd_algo: Any) -> bytes:
        der = private_key.dump()
        key = self._loaded.get(der)
        if key is None:
            key = self._loaded[der] = serialization.load_der_private_key(der, password=None)
        if sd_algo.signature_algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            digest = getattr(self._hashes, sd_algo.hash_algo.upper())()
            return key.sign(tbs_bytes, self._padding.PKCS1v15(), digest)  # type: ignore[no-any-return]
        return self._base.generic_sign(private_key, tbs_bytes, sd_algo)  # type: ignore[no-any-return]


@contextmanager
def running_pki(directory: Path, separate_process: bool = False) -> Iterator[TestPKI]:
    """The PKI's services on 127.0.0.1. `separate_process` serves them from a forked child, as a real
    TSA/OCSP runs elsewhere: a benchmark then measures hoso, not the TSA's signing sharing hoso's GIL."""
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import CertomancerConfig
    from werkzeug.serving import make_server

    generate_keys(directory / "keys")
    keep_service_keys()
    delegate = _Delegate()
    server = make_server("127.0.0.1", 0, delegate, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    now = datetime.now(UTC).replace(microsecond=0)
    cfg = CertomancerConfig(config(directory / "keys", now), key_search_dir=str(directory), external_url_prefix=url)
    delegate.target = Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False)
    if separate_process:
        import os
        import signal

        child = os.fork()
        if child == 0:  # the child only serves
            try:
                server.serve_forever()
            finally:
                os._exit(0)
        server.socket.close()
        try:
            yield TestPKI(arch=cfg.get_pki_arch(ARCH), url=url, directory=directory, config=cfg)
        finally:
            os.kill(child, signal.SIGTERM)
            os.waitpid(child, 0)
        return
    thread = threading.Thread(target=server.serve_forever, name="test-pki", daemon=True)
    thread.start()
    try:
        yield TestPKI(arch=cfg.get_pki_arch(ARCH), url=url, directory=directory, config=cfg)
    finally:
        server.shutdown()
        thread.join(timeout=5)
