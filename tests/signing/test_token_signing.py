"""PKCS#11 on the server (a token or HSM attached to hoso's machine): one PIN signs the batch.

The token is SoftHSM2 holding the principal's key, certificate and the intermediate CA, as a
Vietnamese provider's USB token does.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.models import Version
from flows.settings import Settings
from tests.api.test_cli import hoso, hoso_env
from tests.signing.conftest import approve_all, wait_batch
from tests.softhsm import Token


@pytest.fixture
def settings(settings: Settings, tokens: dict[str, Token]) -> Settings:
    token = tokens["principal"]
    return settings.model_copy(update={"pkcs11_module": token.module, "pkcs11_token_label": token.label})


def sign_with_pin(client: TestClient, headers: dict[str, str], batch_id: str, pin: str | None, **form: str):  # type: ignore[no-untyped-def]
    data = {"key_source": "pkcs11", **form} | ({"pin": pin} if pin is not None else {})
    return client.post(f"/api/v1/approvals/{batch_id}/sign", headers=headers, data=data)


def signed_versions(session: Session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(Version).where(Version.kind == "signed")) or 0


def test_one_pin_signs_the_whole_batch_on_the_servers_token(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    tokens: dict[str, Token],
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    response = sign_with_pin(client, hoa, batch_id, tokens["principal"].pin, level="B-T")
    assert response.status_code == 202, response.text
    batch = wait_batch(client, hoa, batch_id)
    assert batch["state"] == "signed", batch
    assert batch["key_source"] == "pkcs11" and batch["counts"]["signed"] == 3
    for item in batch["items"]:
        check = client.get(f"/api/v1/records/{item['record_id']}/signatures", headers=hoa).json()
        assert check["all_valid"], check
        (sig,) = check["signatures"]
        assert sig["signer"]["common_name"] == "Nguyễn Thị Hoa" and sig["level"] == "B-T"


@pytest.mark.parametrize(
    ("pin", "token_label", "status", "words"),
    [
        ("000000", None, 422, "Sai mã PIN"),
        (None, None, 422, "mã PIN"),
        ("246810", "KHONG-CO", 422, "Không tìm thấy thiết bị ký số"),
        ("246810", "HT-REVOKED", 409, "thu hồi"),
    ],
)
def test_bad_pin_missing_token_or_revoked_certificate_is_refused_before_signing(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    settings: Settings,
    session: Session,
    pin: str | None,
    token_label: str | None,
    status: int,
    words: str,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    if token_label:
        settings.pkcs11_token_label = token_label  # the app holds this same settings object
    response = sign_with_pin(client, hoa, batch_id, pin)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    assert client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()["state"] == "open"
    assert signed_versions(session) == 0


def test_server_without_a_token_says_so(client: TestClient, month: dict, settings: Settings) -> None:  # type: ignore[type-arg]
    approve_all(client, month["hoa"], month["batch_id"])
    settings.pkcs11_module = None
    response = sign_with_pin(client, month["hoa"], month["batch_id"], "246810")
    assert response.status_code == 422 and "HOSO_PKCS11_MODULE" in response.json()["message"]
    neither = client.post(
        f"/api/v1/approvals/{month['batch_id']}/sign", headers=month["hoa"], data={"key_source": "usb"}
    )
    assert neither.status_code == 422 and "pkcs11" in neither.json()["message"]


def test_sign_month_with_a_token_from_the_command_line(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    settings: Settings,
    tokens: dict[str, Token],
) -> None:
    approve_all(client, month["hoa"], month["batch_id"])
    token = tokens["principal"]
    args = ["sign-month", "--school", "THA", "--period", "2026-11", "--as", "ht.hoa", "--pkcs11-module", token.module]
    several = hoso(settings, *args, env=hoso_env(settings, HOSO_PKCS11_PIN=token.pin))
    assert several.returncode == 1 and "nhiều thiết bị ký số" in several.stderr, several.stderr
    wrong = hoso(settings, *args, "--token-label", token.label, env=hoso_env(settings, HOSO_PKCS11_PIN="1"))
    assert wrong.returncode == 1 and "Sai mã PIN" in wrong.stderr
    ok = hoso(settings, *args, "--token-label", token.label, input=token.pin + "\n")
    assert ok.returncode == 0, ok.stderr
    batch = client.get(f"/api/v1/approvals/{month['batch_id']}", headers=month["hoa"]).json()
    assert batch["state"] == "signed" and batch["counts"]["signed"] == 3
