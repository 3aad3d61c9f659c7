"""Key on the principal's PC: the server prepares digests, the token (SoftHSM2) signs them, the server finishes.

The PC side is hoso's own (`signing.client.TokenDigestSigner`), driving the API over HTTP as
`hoso sign-month --server` does; the results are checked by pdfsig and by the signature report.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive.db import utcnow, write_transaction
from archive.models import Version
from flows.settings import Settings
from signing import token
from signing.client import TokenDigestSigner
from signing.models import PreparedSignature
from tests import factories
from tests.api.test_cli import hoso, hoso_env
from tests.api.test_server_process import Server
from tests.factories import login
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.signing.conftest import approve_all, sign, submit, wait_batch
from tests.signing.test_approval_signing import nss_db, pdfsig
from tests.softhsm import Token


@pytest.fixture
def signer(tokens: dict[str, Token]):  # type: ignore[no-untyped-def]
    tok = tokens["principal"]
    with TokenDigestSigner(token.TokenSpec(tok.module, tok.label), tok.pin) as opened:
        yield opened


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def prepare(client: TestClient, headers: dict[str, str], batch_id: str, signer: TokenDigestSigner, **extra):  # type: ignore[no-untyped-def]
    body = {"certificate": b64(signer.certificate.dump()), "chain": [b64(c.dump()) for c in signer.chain], **extra}
    return client.post(f"/api/v1/approvals/{batch_id}/prepare", headers=headers, json=body)


def signed_by(signer: TokenDigestSigner, items: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [{"id": i["id"], "signature": b64(signer.sign_digest(bytes.fromhex(i["digest"])))} for i in items]


def complete(client: TestClient, headers: dict[str, str], batch_id: str, values: list[dict]):  # type: ignore[no-untyped-def,type-arg]
    return client.post(f"/api/v1/approvals/{batch_id}/complete", headers=headers, json={"signatures": values})


def signed_count(session: Session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(Version).where(Version.kind == "signed")) or 0


def test_token_on_the_pc_signs_prepared_digests_in_chunks(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    signer: TokenDigestSigner,
    pki: TestPKI,
    tmp_path: Path,
    session: Session,
) -> None:
    hoa, lan, batch_id = month["hoa"], month["lan"], month["batch_id"]
    body = json.dumps(factories.meta(title="Kế hoạch bài dạy Âm nhạc 5", month=11))
    files = {"metadata": (None, body), "file": ("ke-hoach.docx", factories.docx_bytes())}
    docx = client.post("/api/v1/records", headers=lan, files=files)
    assert docx.status_code == 201, docx.text
    assert submit(client, lan, docx.json()["id"])["batch_id"] == batch_id  # a DOCX plan gets a detached .p7s
    approve_all(client, hoa, batch_id)

    first = prepare(client, hoa, batch_id, signer, level="B-LT", limit=2)
    assert first.status_code == 200, first.text
    chunk = first.json()
    assert len(chunk["items"]) == 2 and chunk["expires_in"] > 0 and chunk["counts"]["approved"] == 4
    assert all(len(i["digest"]) == 64 for i in chunk["items"])
    # the principal's PC proves nothing to the server but the signature values; the server checks them
    done = complete(client, hoa, batch_id, signed_by(signer, chunk["items"]))
    assert done.status_code == 200, done.text
    assert done.json()["signed"] == 2 and done.json()["state"] == "open"

    rest = prepare(client, hoa, batch_id, signer, level="B-LT").json()
    assert rest["items"] and all(i["target"].startswith("item:") for i in rest["items"])
    assert complete(client, hoa, batch_id, signed_by(signer, rest["items"])).status_code == 200
    record = prepare(client, hoa, batch_id, signer, level="B-LT").json()
    (approval,) = record["items"]
    assert approval["target"] == f"record:{batch_id}"
    last = complete(client, hoa, batch_id, signed_by(signer, [approval])).json()
    assert last["state"] == "signed" and last["approval_record_id"]

    batch = client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()
    assert batch["key_source"] == "client" and batch["counts"]["failed"] == 0
    nss = nss_db(tmp_path, pki)
    for item in batch["items"]:
        if item["decision"] != "approved":
            continue
        check = client.get(f"/api/v1/records/{item['record_id']}/signatures", headers=hoa).json()
        assert check["all_valid"], check
        (sig,) = check["signatures"]
        assert sig["signer"]["common_name"] == "Nguyễn Thị Hoa"
        if sig["kind"] == "pades":
            assert sig["level"] == "B-LT" and sig["revocation"] == "good" and sig["timestamp_time"]
            pdf = client.get(f"/api/v1/records/{item['record_id']}/versions/2/content", headers=hoa).content
            path = tmp_path / f"{item['id']}.pdf"
            path.write_bytes(pdf)
            assert "Signature is Valid." in pdfsig(path, nss)
    approval_check = client.get(f"/api/v1/records/{last['approval_record_id']}/signatures", headers=hoa).json()
    assert approval_check["all_valid"]
    session.commit()
    assert session.scalar(select(func.count()).select_from(PreparedSignature)) == 0  # nothing left waiting


def test_a_signature_that_does_not_match_is_refused_and_nothing_is_stored(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    signer: TokenDigestSigner,
    pki: TestPKI,
    session: Session,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    items = prepare(client, hoa, batch_id, signer, level="B-B").json()["items"]
    values = signed_by(signer, items)
    # one value signs another document's digest: the whole request is refused
    swapped = [values[0] | {"signature": values[1]["signature"]}, *values[1:]]
    refused = complete(client, hoa, batch_id, swapped)
    assert refused.status_code == 422 and "không khớp" in refused.json()["message"], refused.text
    # a value made with another key over the right digest: refused too (the certificate is bound)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    other = serialization.load_pem_private_key(pki.private_key_pem("vice"), password=None)
    forged = other.sign(bytes.fromhex(items[0]["digest"]), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))  # type: ignore[union-attr,call-arg]
    wrong_key = complete(client, hoa, batch_id, [values[0] | {"signature": b64(forged)}])
    assert wrong_key.status_code == 422
    garbage = complete(client, hoa, batch_id, [{"id": items[0]["id"], "signature": "***"}])
    assert garbage.status_code == 422 and "base64" in garbage.json()["message"]
    unknown = complete(client, hoa, batch_id, [{"id": "nope", "signature": values[0]["signature"]}])
    assert unknown.status_code == 404
    empty = complete(client, hoa, batch_id, [])
    assert empty.status_code == 422 and "Không có chữ ký" in empty.json()["message"]
    # the vice principal may sign this batch, but not values for documents the principal prepared
    stranger = complete(client, login(client, "pht.thu"), batch_id, values)
    assert stranger.status_code == 403
    assert signed_count(session) == 0
    # the right values still go through afterwards
    assert complete(client, hoa, batch_id, values).json()["signed"] == 3


def test_prepared_items_expire_and_cannot_be_completed(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    signer: TokenDigestSigner,
    session: Session,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    items = prepare(client, hoa, batch_id, signer, level="B-B").json()["items"]
    with write_transaction(session):
        session.execute(update(PreparedSignature).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = complete(client, hoa, batch_id, signed_by(signer, items))
    assert late.status_code == 409 and "hết hạn" in late.json()["message"]
    assert signed_count(session) == 0
    again = prepare(client, hoa, batch_id, signer, level="B-B").json()["items"]
    assert {i["target"] for i in again} == {i["target"] for i in items}
    assert complete(client, hoa, batch_id, signed_by(signer, again)).json()["signed"] == 3


def test_server_side_run_waits_for_a_live_client_preparation(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    signer: TokenDigestSigner,
    pki: TestPKI,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    assert prepare(client, hoa, batch_id, signer, level="B-B").status_code == 200
    busy = sign(client, hoa, batch_id, pki.pkcs12("principal"), PKCS12_PASSWORD)
    assert busy.status_code == 409 and "máy của hiệu trưởng" in busy.json()["message"]
    # someone else (the vice principal, allowed to sign, with her own certificate) cannot prepare it meanwhile
    thu = login(client, "pht.thu")
    hers = {"certificate": b64(pki.cert_der("vice")), "chain": [b64(pki.cert_der("interm"))], "level": "B-B"}
    other = client.post(f"/api/v1/approvals/{batch_id}/prepare", headers=thu, json=hers)
    assert other.status_code == 409 and "người khác" in other.json()["message"], other.text
    assert wait_batch(client, hoa, batch_id)["state"] == "open"


def test_bad_prepare_requests_are_refused(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    signer: TokenDigestSigner,
    pki: TestPKI,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    undecided = prepare(client, hoa, batch_id, signer)
    assert undecided.status_code == 409 and "chưa duyệt" in undecided.json()["message"]
    approve_all(client, hoa, batch_id)
    not_a_cert = client.post(
        f"/api/v1/approvals/{batch_id}/prepare", headers=hoa, json={"certificate": b64(b"not a certificate")}
    )
    assert not_a_cert.status_code == 422
    revoked = client.post(
        f"/api/v1/approvals/{batch_id}/prepare", headers=hoa, json={"certificate": b64(pki.cert_der("revoked"))}
    )
    assert revoked.status_code == 409 and "thu hồi" in revoked.json()["message"]
    assert prepare(client, hoa, batch_id, signer, limit=0).status_code == 422
    teacher = prepare(client, month["lan"], batch_id, signer)
    assert teacher.status_code == 403


def test_sign_month_from_the_principals_pc_against_a_running_server(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    settings: Settings,
    tokens: dict[str, Token],
    tmp_path: Path,
) -> None:
    """`hoso sign-month --server`: hoso served by uvicorn in its own process, the CLI on the 'PC' with the token."""
    approve_all(client, month["hoa"], month["batch_id"])
    server = Server(settings, tmp_path / "server.log")
    server.start()
    try:
        tok = tokens["principal"]
        args = ["sign-month", "--server", server.url, "--school", "THA", "--period", "2026-11", "--as", "ht.hoa"]
        args += ["--pkcs11-module", tok.module, "--token-label", tok.label, "--level", "B-T"]
        wrong_pin = hoso(settings, *args, env=hoso_env(settings, HOSO_PASSWORD=factories.PASSWORD, HOSO_PKCS11_PIN="9"))
        assert wrong_pin.returncode == 1 and "Sai mã PIN" in wrong_pin.stderr
        wrong_password = hoso(settings, *args, env=hoso_env(settings, HOSO_PASSWORD="sai", HOSO_PKCS11_PIN=tok.pin))
        assert wrong_password.returncode == 1
        ok = hoso(settings, *args, env=hoso_env(settings, HOSO_PASSWORD=factories.PASSWORD, HOSO_PKCS11_PIN=tok.pin))
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "signed" in ok.stdout and "4" in ok.stdout  # 3 plans and the approval record
    finally:
        server.stop()
    batch = client.get(f"/api/v1/approvals/{month['batch_id']}", headers=month["hoa"]).json()
    assert batch["state"] == "signed" and batch["counts"]["signed"] == 3 and batch["key_source"] == "client"
    for item in batch["items"]:
        check = client.get(f"/api/v1/records/{item['record_id']}/signatures", headers=month["hoa"]).json()
        assert check["all_valid"] and check["signatures"][0]["level"] == "B-T", check
