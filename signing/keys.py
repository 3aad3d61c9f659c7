"""Where the principal's key is, behind one shape: a pyHanko `Signer` plus what we print about it.

A PKCS#12 supplied for a batch is opened in memory and never written anywhere; the loaded key is
kept for the whole batch. pyHanko's own `SimpleSigner` re-parses the private key on every
signature (~33 ms for RSA-2048, DESIGN §9), which is most of its cost, so `KeptKeySigner` parses it
once. A key on the principal's own PC is a key source too (`client_key`): its certificate only,
its signature values made elsewhere and checked here (`check_signature_value`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12
from pyhanko.sign import signers
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from archive.exceptions import InvalidInput
from signing.cms_template import TemplatedCMS


class KeptKeySigner(TemplatedCMS, signers.SimpleSigner):
    """A `SimpleSigner` that keeps its private key parsed between signatures, and splices the batch's
    containers from a template (signing/cms_template.py)."""

    def __init__(self, *args: Any, loaded_key: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded_key = loaded_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        key = self._loaded_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)  # rarer mechanisms: pyHanko's own path


@dataclass
class KeySource:
    """A key ready to sign a batch; `close()` drops it (and logs out of a token)."""

    kind: str  # pkcs12 | pkcs11 | csc
    signer: signers.Signer
    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)
    closer: Any = None
    attach: Any = None  # called with the run's aiohttp session: a remote signer talks on the run's own loop

    def close(self) -> None:
        if self.closer is not None:
            self.closer()
            self.closer = None


def from_pkcs12(data: bytes, password: bytes | None) -> KeySource:
    """Open a PKCS#12 in memory; a wrong password is the user's error, said plainly."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password or None)
    except ValueError:
        raise InvalidInput(
            "Không mở được tệp chữ ký số (.p12/.pfx): sai mật khẩu hoặc tệp hỏng.",
            "Could not open the PKCS#12 (.p12/.pfx) file: wrong password or a damaged file.",
        ) from None
    if key is None or cert is None:
        raise InvalidInput(
            "Tệp .p12 không chứa khóa bí mật và chứng thư số của người ký.",
            "The PKCS#12 file holds no private key and certificate for the signer.",
        )
    signing_cert = x509.Certificate.load(cert.public_bytes(Encoding.DER))
    chain = [x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in extra or []]
    key_info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
    registry = SimpleCertificateStore.from_certs(chain)
    signer = KeptKeySigner(signing_cert=signing_cert, signing_key=key_info, cert_registry=registry, loaded_key=key)
    return KeySource(kind="pkcs12", signer=signer, certificate=signing_cert, chain=chain)


_SHA256_HEX = re.compile(r"[0-9A-F]{64}")


def client_key(certificate: bytes, chain: list[bytes]) -> KeySource:
    """The principal's certificate (sent by their PC) as a key source whose signatures come from elsewhere."""
    try:
        cert = x509.Certificate.load(certificate)
        others = [x509.Certificate.load(c) for c in chain]
        _ = cert.subject.human_friendly, [c.subject.human_friendly for c in others]  # parse now, not later
    except (ValueError, TypeError, KeyError):
        raise InvalidInput(
            "Chứng thư số gửi lên không đọc được (cần DER, mã hóa base64).",
            "The certificate sent cannot be read (DER, base64-encoded, is expected).",
        ) from None
    signer = signers.ExternalSigner(cert, SimpleCertificateStore.from_certs(others), signature_value=256)
    return KeySource(kind="client", signer=signer, certificate=cert, chain=others)


def check_signature_value(certificate: x509.Certificate, signed_attrs: bytes, value: bytes) -> bool:
    """Does `value` sign these signed attributes with this certificate's key (the mechanism the CMS will name)?"""
    mechanism = signers.ExternalSigner(certificate, None).get_signature_mechanism_for_digest("sha256")
    try:
        DefaultSignatureValidator().validate_signature(value, signed_attrs, certificate.public_key, mechanism)
    except Exception:  # InvalidSignature, or bytes that are not a signature at all
        return False
    return True


def fingerprint(certificate_der: bytes) -> str:
    """A certificate's SHA-256 fingerprint as hoso prints it: upper-case hex pairs joined by colons,
    exactly as `openssl x509 -noout -fingerprint -sha256` prints it, so an inspector can compare."""
    digest = hashlib.sha256(certificate_der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def parse_fingerprint(text: str) -> str | None:
    """What a person pasted (colons or not, spaces, either case, OpenSSL's `SHA256 Fingerprint=`
    prefix) in the form `fingerprint` prints; None when it is not 32 bytes of hex."""
    value = text.strip()
    if "=" in value:
        value = value.rsplit("=", 1)[1]
    value = re.sub(r"[\s:]", "", value).upper()
    if not _SHA256_HEX.fullmatch(value):
        return None
    return ":".join(value[i : i + 2] for i in range(0, 64, 2))


def describe(cert: x509.Certificate) -> dict[str, str]:
    return {
        "subject": cert.subject.human_friendly,
        "common_name": cert.subject.native.get("common_name", ""),
        "serial": format(cert.serial_number, "x"),
        "issuer": cert.issuer.human_friendly,
        "fingerprint": fingerprint(cert.dump()),
    }
