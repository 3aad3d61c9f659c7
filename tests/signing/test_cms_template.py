"""The batch's CMS containers spliced from a template are byte for byte what pyHanko builds."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import aiohttp
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from flows.settings import Settings
from signing import keys, pades, stamp, validate
from signing.cms_template import Template
from tests.factories import lesson_plan_pdf
from tests.pki import PKCS12_PASSWORD, TestPKI


def sign_both(signer: keys.KeptKeySigner, digest: bytes, use_pades: bool, when: datetime) -> tuple[bytes, bytes]:
    """(the templated signer's container, plain pyHanko's container) for one digest."""
    settings = PdfCMSSignedAttributes(signing_time=when)
    templated = asyncio.run(signer.async_sign(digest, "sha256", use_pades=use_pades, signed_attr_settings=settings))
    plain = asyncio.run(
        signers.SimpleSigner.async_sign(signer, digest, "sha256", use_pades=use_pades, signed_attr_settings=settings)
    )
    return templated.dump(), plain.dump()


def test_pades_containers_are_spliced_and_identical_to_pyhankos(pki: TestPKI) -> None:
    signer = keys.from_pkcs12(pki.pkcs12("principal"), PKCS12_PASSWORD).signer
    assert isinstance(signer, keys.KeptKeySigner)
    for n in range(6):
        ours, theirs = sign_both(signer, os.urandom(32), True, datetime.now(UTC))
        assert ours == theirs, n
    learned = [t for t in signer._templates.values() if t is not None]
    assert len(learned) == 1 and isinstance(learned[0], Template) and learned[0].signature_size == 256


def test_a_container_carrying_its_signing_time_is_never_templated(pki: TestPKI) -> None:
    """CAdES without PAdES puts the signing time in the signed attributes: each container differs."""
    signer = keys.from_pkcs12(pki.pkcs12("principal"), PKCS12_PASSWORD).signer
    same_second = datetime(2026, 11, 24, 8, 0, 0, tzinfo=UTC)
    for n in range(4):
        when = same_second if n < 2 else datetime.now(UTC)  # two samples that would agree if times were allowed
        ours, theirs = sign_both(signer, os.urandom(32), False, when)
        assert ours == theirs, n
    assert all(t is None for t in signer._templates.values())


def test_a_timestamped_or_dry_run_signature_goes_through_pyhanko(pki: TestPKI) -> None:
    signer = keys.from_pkcs12(pki.pkcs12("principal"), PKCS12_PASSWORD).signer
    dry = asyncio.run(signer.async_sign(os.urandom(32), "sha256", dry_run=True, use_pades=True))
    assert dry["content"]["signer_infos"][0]["signature"].native  # a placeholder, as pyHanko makes it
    assert not getattr(signer, "_templates", {})  # nothing learned from a dry run


def test_timestamped_pdfs_from_the_template_validate(pki: TestPKI, settings: Settings) -> None:
    """B-T: the splice, then the TSA's token added as pyHanko adds it; every PDF's signature and timestamp hold."""
    key = keys.from_pkcs12(pki.pkcs12("principal"), PKCS12_PASSWORD)
    mark = stamp.render(title="HIỆU TRƯỞNG", name="Nguyễn Thị Hoa", when=datetime.now(UTC))

    async def month() -> list[bytes]:
        async with aiohttp.ClientSession() as http:
            setup = pades.PadesSetup.build(key.signer, "B-T", mark, "last", pki.tsa_url, None, "Đã duyệt", http=http)
            return [(await pades.sign(setup, lesson_plan_pdf(f"KHBD {n}"), f"HOSO_{n}")).pdf for n in range(4)]

    signed = asyncio.run(month())
    assert any(t is not None for t in key.signer._templates.values())  # the last two came from the template
    for pdf in signed:
        (report,) = validate.validate_pdf(settings, pdf)
        assert report["summary_vi"] == "Chữ ký hợp lệ" and report["timestamp_valid"], report
