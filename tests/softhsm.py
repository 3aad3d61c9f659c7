"""A SoftHSM2 token holding the principal's key, as a USB token would (Debian `softhsm2`).

SoftHSM reads its configuration (SOFTHSM2_CONF) once per process, when the PKCS#11 module is first
loaded, so the test run has one token folder: tokens are created with `softhsm2-util` first and
only then is the module loaded here to import keys and certificates.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.conftest import require_tool
from tests.pki import TestPKI

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
PIN = "246810"
SO_PIN = "13579111"


@dataclass(frozen=True)
class Token:
    module: str
    label: str
    key_label: str
    pin: str
    conf: Path

    __test__ = False


def module_path() -> str:
    require_tool("softhsm2-util")
    for path in MODULE_CANDIDATES:
        if Path(path).exists():
            return path
    raise AssertionError("softhsm2 is installed but libsofthsm2.so was not found")


def create(directory: Path, pki: TestPKI, holders: dict[str, str]) -> dict[str, Token]:
    """One token per holder (token label -> certificate label), each with the intermediate CA too."""
    module = module_path()
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in holders:
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
        )
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass
    from pkcs11.util.rsa import decode_rsa_private_key

    lib = pkcs11.lib(module)
    made = {}
    for label, holder in holders.items():
        token = lib.get_token(token_label=label)
        key = serialization.load_pem_private_key(pki.private_key_pem(holder), password=None)
        pkcs1 = key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        with token.open(rw=True, user_pin=PIN) as session:
            attrs = decode_rsa_private_key(pkcs1)
            attrs.update({Attribute.TOKEN: True, Attribute.LABEL: holder, Attribute.ID: b"\x01", Attribute.SIGN: True})
            session.create_object(attrs)
            for cert_label, key_id in ((holder, b"\x01"), ("interm", b"\x02")):
                cert = pki.arch.get_cert(cert_label)
                session.create_object(
                    {
                        Attribute.CLASS: ObjectClass.CERTIFICATE,
                        Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                        Attribute.TOKEN: True,
                        Attribute.LABEL: cert_label,
                        Attribute.ID: key_id,
                        Attribute.SUBJECT: cert.subject.dump(),
                        Attribute.VALUE: cert.dump(),
                    }
                )
        made[holder] = Token(module=module, label=label, key_label=holder, pin=PIN, conf=conf)
    return made
