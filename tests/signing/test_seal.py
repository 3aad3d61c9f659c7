"""The archive's seal and the fingerprint it publishes: one seal per archive, printed as OpenSSL prints
it, read back in any form a person pastes."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from archive.exceptions import InvalidInput
from flows.settings import Settings
from signing import keys, seal


def test_the_published_fingerprint_is_the_seals_as_openssl_prints_it(settings: Settings) -> None:
    published = seal.published_fingerprint(settings)
    key, self_signed = seal.load(settings)
    try:
        assert self_signed and keys.fingerprint(key.certificate.dump()) == published
        pem = serialization.Encoding.PEM
        _k, cert, _c = pkcs12.load_key_and_certificates(
            (settings.data_dir / "seal" / "seal.p12").read_bytes(),
            (settings.data_dir / "seal" / "seal.password").read_bytes(),
        )
        assert cert is not None
        if shutil.which("openssl"):
            printed = subprocess.run(
                ["openssl", "x509", "-noout", "-fingerprint", "-sha256"],
                input=cert.public_bytes(pem),
                capture_output=True,
                check=True,
            ).stdout.decode()
            assert printed.strip().split("=", 1)[1] == published  # "sha256 Fingerprint=AB:CD:…"
    finally:
        key.close()
    assert seal.published_fingerprint(settings) == published  # created once, then the same


def test_two_processes_racing_make_one_seal(settings: Settings) -> None:
    """The web page publishing the fingerprint and the worker sealing a package may create it together."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = set(pool.map(lambda _: seal.published_fingerprint(settings), range(4)))
    assert len(found) == 1
    key, _ = seal.load(settings)
    try:
        assert {keys.fingerprint(key.certificate.dump())} == found
    finally:
        key.close()


def test_a_seal_folder_left_half_written_is_replaced(settings: Settings) -> None:
    folder = settings.data_dir / "seal"
    folder.mkdir()
    (folder / "seal.password").write_bytes(b"old")  # an older hoso stopped between its two files
    published = seal.published_fingerprint(settings)
    key, _ = seal.load(settings)
    try:
        assert keys.fingerprint(key.certificate.dump()) == published
    finally:
        key.close()


def test_a_missing_or_locked_configured_seal_is_said_plainly(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = settings.model_copy(update={"seal_pkcs12": tmp_path / "khong-co.p12"})
    with pytest.raises(InvalidInput, match="seal certificate is missing"):
        seal.published_fingerprint(missing)
    (tmp_path / "sai.p12").write_bytes(b"not a p12")
    broken = settings.model_copy(update={"seal_pkcs12": tmp_path / "sai.p12", "seal_password": "x"})
    with pytest.raises(InvalidInput, match="cannot be opened"):
        seal.published_fingerprint(broken)


@pytest.mark.parametrize(
    "typed",
    [
        "{colons}",
        "{plain}",
        "{plain_lower}",
        "  sha256 Fingerprint={colons}\n",
        "SHA256 Fingerprint={colons_lower}",
        "{spaced}",
    ],
)
def test_a_fingerprint_is_read_in_any_form_a_person_pastes(typed: str) -> None:
    canonical = keys.fingerprint(b"any certificate bytes")
    plain = canonical.replace(":", "")
    text = typed.format(
        colons=canonical,
        colons_lower=canonical.lower(),
        plain=plain,
        plain_lower=plain.lower(),
        spaced=" ".join(canonical.split(":")),
    )
    assert keys.parse_fingerprint(text) == canonical


@pytest.mark.parametrize("typed", ["", "AB:CD", "Z" * 64, "A" * 63, "A" * 65, "sha1 Fingerprint=" + "A" * 40])
def test_what_is_not_a_sha256_fingerprint_is_refused(typed: str) -> None:
    assert keys.parse_fingerprint(typed) is None
