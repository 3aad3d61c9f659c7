"""Remote signing (ký số từ xa, CSC API v1) against certomancer-csc-dummy: one PIN or OTP signs the month."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.models import Version
from flows.settings import Settings
from tests.api.test_cli import hoso, hoso_env
from tests.csc_service import OTP, PIN, CSCService, running_csc
from tests.factories import World, login
from tests.pki import TestPKI
from tests.signing.conftest import wait_batch
from tests.signing.test_approval_signing import content, nss_db, pdfsig
from tests.signing.test_sign_cli import month_of


@pytest.fixture(scope="module")
def csc(pki: TestPKI) -> Iterator[CSCService]:
    with running_csc(pki, scal=1, multisign=10) as service:
        yield service


@pytest.fixture(scope="module")
def csc_pinned(pki: TestPKI) -> Iterator[CSCService]:
    with running_csc(pki, scal=2, multisign=3) as service:
        yield service


@pytest.fixture
def settings(settings: Settings, csc: CSCService) -> Settings:
    return settings.model_copy(update={"csc_url": csc.url})


def sign_remote(client: TestClient, headers: dict[str, str], batch_id: str, **form: str):  # type: ignore[no-untyped-def]
    data = {"key_source": "csc", "credential_id": "hoso/principal", **form}
    return client.post(f"/api/v1/approvals/{batch_id}/sign", headers=headers, data=data)


def signed_versions(session: Session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(Version).where(Version.kind == "signed")) or 0


def test_one_pin_authorizes_the_whole_batch_at_the_remote_service(
    client: TestClient, world: World, csc: CSCService, pki: TestPKI, tmp_path: Path
) -> None:
    batch_id = month_of(client, 12)
    hoa = login(client, "ht.hoa")
    before = csc.calls.copy()
    response = sign_remote(client, hoa, batch_id, pin=PIN, level="B-T")
    assert response.status_code == 202, response.text
    batch = wait_batch(client, hoa, batch_id)
    assert batch["state"] == "signed", batch
    assert batch["key_source"] == "csc" and batch["counts"]["signed"] == 12
    # one credentials/authorize for 12 plans + the approval record; the hashes travel in batches
    assert csc.calls["credentials/authorize"] - before["credentials/authorize"] == 1
    sign_calls = csc.calls["signatures/signHash"] - before["signatures/signHash"]
    assert sign_calls < 13 and sum(csc.hashes_signed[-sign_calls:]) == 13
    nss = nss_db(tmp_path, pki)
    for item in batch["items"]:
        path = tmp_path / f"{item['id']}.pdf"
        path.write_bytes(content(client, hoa, item["record_id"], 2))
        assert "Signature is Valid." in pdfsig(path, nss)
        check = client.get(f"/api/v1/records/{item['record_id']}/signatures", headers=hoa).json()
        assert check["all_valid"], check
        assert check["signatures"][0]["signer"]["common_name"] == "Nguyễn Thị Hoa"
    approval = client.get(f"/api/v1/records/{batch['approval_record_id']}/signatures", headers=hoa).json()
    assert approval["all_valid"], approval


def test_an_otp_works_as_the_one_authorization(client: TestClient, world: World, csc: CSCService) -> None:
    batch_id = month_of(client, 2)
    hoa = login(client, "ht.hoa")
    response = sign_remote(client, hoa, batch_id, otp=OTP, level="B-B")
    assert response.status_code == 202, response.text
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"pin": "000000"}, 422, "sai mã PIN/OTP"),
        ({}, 422, "mã PIN hoặc OTP"),
        ({"pin": PIN, "credential_id": "hoso/khong-co"}, 404, "không có chứng thư số"),
        ({"pin": PIN, "credential_id": ""}, 422, "chọn chứng thư số"),
        ({"pin": PIN, "credential_id": "hoso/revoked"}, 409, "thu hồi"),
        ({"pin": PIN, "credential_id": "hoso/expired"}, 409, "hết hạn"),
    ],
)
def test_bad_remote_authorization_is_refused_before_anything_is_signed(
    client: TestClient, world: World, session: Session, form: dict[str, str], status: int, words: str
) -> None:
    batch_id = month_of(client, 2)
    hoa = login(client, "ht.hoa")
    response = sign_remote(client, hoa, batch_id, **form)
    assert response.status_code == status, response.text
    assert words in response.json()["message"], response.json()
    assert signed_versions(session) == 0
    assert client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()["state"] == "open"


def test_remote_signing_needs_a_configured_service_and_a_principal(
    client: TestClient, world: World, settings: Settings, csc: CSCService
) -> None:
    batch_id = month_of(client, 1)
    before = csc.calls["credentials/authorize"]
    teacher = sign_remote(client, login(client, "gv.lan"), batch_id, pin=PIN)
    assert teacher.status_code == 403, teacher.text
    assert csc.calls["credentials/authorize"] == before  # nobody's PIN went out for a refused request
    settings.csc_url = None
    unset = sign_remote(client, login(client, "ht.hoa"), batch_id, pin=PIN)
    assert unset.status_code == 422 and "HOSO_CSC_URL" in unset.json()["message"]


def test_service_down_is_a_503_and_nothing_starts(client: TestClient, world: World, settings: Settings) -> None:
    batch_id = month_of(client, 1)
    settings.csc_url = "http://127.0.0.1:9"  # discard port: nothing listens
    response = sign_remote(client, login(client, "ht.hoa"), batch_id, pin=PIN)
    assert response.status_code == 503 and "Không kết nối được" in response.json()["message"]


def test_scal2_signs_each_call_with_the_pin_typed_once(
    client: TestClient, world: World, settings: Settings, csc_pinned: CSCService
) -> None:
    settings.csc_url = csc_pinned.url
    batch_id = month_of(client, 5)
    hoa = login(client, "ht.hoa")
    otp_only = sign_remote(client, hoa, batch_id, otp=OTP)
    assert otp_only.status_code == 422 and "SCAL2" in otp_only.json()["message"]
    response = sign_remote(client, hoa, batch_id, pin=PIN, level="B-B")
    assert response.status_code == 202, response.text
    batch = wait_batch(client, hoa, batch_id)
    assert batch["state"] == "signed" and batch["counts"]["signed"] == 5, batch
    assert max(csc_pinned.hashes_signed) <= 3  # the service's multisign is respected


def test_wrong_pin_on_scal2_pauses_the_batch_with_nothing_signed(
    client: TestClient, world: World, settings: Settings, session: Session, csc_pinned: CSCService
) -> None:
    settings.csc_url = csc_pinned.url
    batch_id = month_of(client, 2)
    hoa = login(client, "ht.hoa")
    response = sign_remote(client, hoa, batch_id, pin="999999")
    assert response.status_code == 202, response.text  # SCAL2: the PIN is first checked with the first hashes
    batch = wait_batch(client, hoa, batch_id)
    assert batch["state"] == "open" and "sai mã PIN/OTP" in batch["last_error"], batch
    assert signed_versions(session) == 0
    retry = sign_remote(client, hoa, batch_id, pin=PIN, level="B-B")
    assert retry.status_code == 202, retry.text
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"


def test_sign_month_with_a_remote_credential_from_the_command_line(
    client: TestClient, world: World, settings: Settings, csc: CSCService
) -> None:
    month_of(client, 3)
    args = ["sign-month", "--school", "THA", "--period", "2026-11", "--as", "ht.hoa", "--csc-url", csc.url]
    wrong = hoso(settings, *args, "--csc-credential", "hoso/principal", env=hoso_env(settings, HOSO_CSC_PIN="1"))
    assert wrong.returncode == 1 and "sai mã PIN/OTP" in wrong.stderr, wrong.stderr
    ok = hoso(settings, *args, "--csc-credential", "hoso/principal", env=hoso_env(settings, HOSO_CSC_PIN=PIN))
    assert ok.returncode == 0, ok.stderr
    assert "đã ký / signed: 3" in ok.stdout
    both = hoso(settings, *args, "--csc-credential", "hoso/principal", "--pkcs12", __file__)
    assert both.returncode == 1 and "Chọn một nguồn khóa" in both.stderr
