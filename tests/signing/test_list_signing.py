"""The yearly list of dossiers approved with the principal's own key (flows/own_signing.py): another
person's certificate is refused with nothing approved, a first use asks its confirmation on the page,
and the signed list is the principal's signature, valid for hoso and for poppler's pdfsig."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import AuditEvent
from flows.settings import Settings
from tests.factories import World, login
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.signing.test_approval_signing import nss_db, pdfsig
from tests.web.test_pages_http import csrf_of, page_login

YEAR = {"school_code": "THA", "school_year": "2025-2026", "grades": [5], "subjects": ["Toán"]}


@pytest.fixture
def settings(settings: Settings, pki: TestPKI) -> Settings:
    return settings.model_copy(update={"trust_roots": str(pki.root_pem_path()), "tsa_url": pki.tsa_url})


def approve(client: TestClient, list_id: int, pki: TestPKI, cert: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/dossier-lists/{list_id}/approval",
        headers=login(client, "ht.hoa"),
        data={"password": PKCS12_PASSWORD.decode(), **form},
        files={"pkcs12": ("ht.p12", pki.pkcs12(cert))},
    )


def test_the_principal_signs_the_list_with_her_own_key_and_no_one_elses(
    client: TestClient, world: World, session: Session, pki: TestPKI, tmp_path: Path
) -> None:
    """(The signing tests' world has ht.hoa's certificate registered to her, the vice's to pht.thu.)"""
    listed = client.post("/api/v1/dossier-lists", headers=login(client, "vt.thu"), json=YEAR).json()
    theirs = approve(client, listed["id"], pki, "vice")
    assert theirs.status_code == 403 and theirs.json()["error"] == "certificate_not_yours", theirs.text
    empty = client.post(
        f"/api/v1/dossier-lists/{listed['id']}/approval",
        headers=login(client, "ht.hoa"),
        files={"pkcs12": ("ht.p12", b"")},
    )
    assert empty.status_code == 422 and "Tệp chữ ký số không hợp lệ" in empty.json()["message"], empty.text
    wrong = approve(client, listed["id"], pki, "principal", password="sai-mat-khau")
    assert wrong.status_code in (401, 403, 422) and wrong.json()["message"], wrong.text
    assert (
        client.get(f"/api/v1/dossier-lists/{listed['id']}", headers=login(client, "vt.thu")).json()["state"] == "draft"
    )

    signed = approve(client, listed["id"], pki, "principal")
    assert signed.status_code == 200 and signed.json()["state"] == "approved", signed.text
    hoa = login(client, "ht.hoa")
    report = client.get(f"/api/v1/records/{signed.json()['record_id']}/signatures", headers=hoa).json()
    assert report["all_valid"], report
    [signature] = report["signatures"]
    assert signature["signer"]["common_name"] == "Nguyễn Thị Hoa"  # hers, not the archive's seal
    pdf = tmp_path / "danh-muc.pdf"
    pdf.write_bytes(client.get(f"/api/v1/dossier-lists/{listed['id']}/export.pdf", headers=hoa).content)
    assert "Signature is Valid." in pdfsig(pdf, nss_db(tmp_path, pki))
    session.rollback()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier_list.approved")).one()
    assert event.details["signed_with"] == "principal"


def test_on_the_page_a_first_use_is_confirmed_then_signs(
    client: TestClient, world: World, session: Session, pki: TestPKI
) -> None:
    listed = client.post("/api/v1/dossier-lists", headers=login(client, "vt.thu"), json=YEAR).json()
    page_login(client, "ht.hoa")
    url = f"/danh-muc-ho-so?truong=THA&nam={YEAR['school_year']}"
    form = {"csrf_token": csrf_of(client.get(url).text), "school": "THA", "school_year": YEAR["school_year"]}
    key = {"pkcs12": ("ht.p12", pki.pkcs12("other_school"))}  # a certificate nobody has used yet
    first = client.post(
        f"/danh-muc-ho-so/{listed['id']}/phe-duyet", data={**form, "password": PKCS12_PASSWORD.decode()}, files=key
    )
    assert first.status_code == 422 and "Đây là chứng thư số của tôi" in first.text, first.text[-2000:]
    fingerprint = first.text.split('name="confirm_certificate" value="', 1)[1].split('"', 1)[0]
    confirmed = client.post(
        f"/danh-muc-ho-so/{listed['id']}/phe-duyet",
        data={**form, "password": PKCS12_PASSWORD.decode(), "confirm_certificate": fingerprint},
        files=key,
        follow_redirects=False,
    )
    assert confirmed.status_code == 303, confirmed.text[-2000:]
    assert (
        client.get(f"/api/v1/dossier-lists/{listed['id']}", headers=login(client, "vt.thu")).json()["state"]
        == "approved"
    )
