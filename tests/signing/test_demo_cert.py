"""`hoso demo-cert`: a test certificate a newcomer can sign with, labelled as such everywhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.settings import Settings
from tests.api.test_cli import hoso, hoso_env
from tests.factories import World, login
from tests.signing.conftest import approve_all, sign, submit, upload_plan, wait_batch
from tests.signing.test_approval_signing import content, pdfsig

PASSWORD = "demo-mat-khau"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No configured roots and no TSA: what `make run` starts with, plus the demo root trusted."""
    return settings.model_copy(update={"trust_roots": "", "tsa_url": None, "trust_demo_root": True})


def make_demo(settings: Settings, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = hoso_env(settings, HOSO_DEMO_P12_PASSWORD=PASSWORD)
    return hoso(settings, "demo-cert", "--out", str(out), *args, env=env)


def test_a_month_signed_with_the_demo_certificate_says_it_is_a_test(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    made = make_demo(settings, tmp_path / "hoa.p12", "--name", "Nguyễn Thị Hoa")
    assert made.returncode == 0, made.stderr
    assert "THỬ NGHIỆM" in made.stdout and (tmp_path / "hoa.p12").stat().st_mode & 0o077 == 0
    again = make_demo(settings, tmp_path / "hoa.p12")
    assert again.returncode == 1 and "đã có" in again.stderr  # never overwrites a key

    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    record = upload_plan(client, lan, "KHBD Toán 5: Số thập phân")
    batch_id = submit(client, lan, record["id"])["batch_id"]
    approve_all(client, hoa, batch_id)
    p12 = (tmp_path / "hoa.p12").read_bytes()
    wrong = sign(client, hoa, batch_id, p12, password=b"sai-mat-khau")
    assert wrong.status_code == 422
    asked = sign(client, hoa, batch_id, p12, password=PASSWORD.encode(), level="B-B")
    assert asked.status_code == 409 and "THỬ NGHIỆM" in asked.json()["detail"]["certificate"]["subject"]  # first use
    fingerprint = asked.json()["detail"]["certificate"]["fingerprint"]
    started = sign(client, hoa, batch_id, p12, password=PASSWORD.encode(), level="B-B", confirm_certificate=fingerprint)
    assert started.status_code == 202, started.text
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"

    report = client.get(f"/api/v1/records/{record['id']}/signatures", headers=hoa).json()
    (signature,) = report["signatures"]
    assert signature["test_certificate"] and signature["trusted"]
    assert "THỬ NGHIỆM" in signature["summary_vi"] and "THỬ NGHIỆM" in signature["signer"]["common_name"]
    (tmp_path / "signed.pdf").write_bytes(content(client, hoa, record["id"], 2))
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    root = str(settings.data_dir / "demo-pki" / "hoso-demo-root.pem")
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "demo", "-t", "CT,C,C", "-i", root], check=True)
    assert "Signature is Valid." in pdfsig(tmp_path / "signed.pdf", f"sql:{nss}")


def test_the_demo_root_is_trusted_only_when_asked(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    assert make_demo(settings, tmp_path / "hoa.p12").returncode == 0
    client.app.state.hoso.settings = settings.model_copy(update={"trust_demo_root": False})  # type: ignore[attr-defined]
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    batch_id = submit(client, lan, upload_plan(client, lan, "KHBD Tiếng Việt 5")["id"])["batch_id"]
    approve_all(client, hoa, batch_id)
    refused = sign(client, hoa, batch_id, (tmp_path / "hoa.p12").read_bytes(), password=PASSWORD.encode())
    assert refused.status_code == 409 and "HOSO_TRUST_ROOTS" in refused.json()["message"], refused.text


def test_demo_cert_refuses_a_short_password_and_a_name_too_long_for_a_certificate(
    settings: Settings, tmp_path: Path
) -> None:
    short = hoso(
        settings, "demo-cert", "--out", str(tmp_path / "a.p12"), env=hoso_env(settings, HOSO_DEMO_P12_PASSWORD="123")
    )
    assert short.returncode == 1 and "ít nhất 6 ký tự" in short.stderr
    long_name = make_demo(settings, tmp_path / "b.p12", "--name", "Nguyễn " * 10)
    assert long_name.returncode == 1 and "48 ký tự" in long_name.stderr
    assert not (tmp_path / "a.p12").exists() and not (tmp_path / "b.p12").exists()  # nothing written


def test_a_demo_certificate_signature_has_one_verdict_in_the_api_the_cli_and_the_evidence_report(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    """It holds (flagged as a TEST certificate) everywhere: the API said so, while `hoso validate`
    and the evidence package's report showed it with a red ✘ (they matched the exact text)."""
    from flows.evidence.package import file_row, render_report

    assert make_demo(settings, tmp_path / "hoa.p12", "--name", "Nguyễn Thị Hoa").returncode == 0
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    record = upload_plan(client, lan, "KHBD Toán 5: Tỉ số phần trăm")
    batch_id = submit(client, lan, record["id"])["batch_id"]
    approve_all(client, hoa, batch_id)
    p12, password = (tmp_path / "hoa.p12").read_bytes(), PASSWORD.encode()
    fingerprint = sign(client, hoa, batch_id, p12, password=password).json()["detail"]["certificate"]["fingerprint"]
    started = sign(client, hoa, batch_id, p12, password=password, level="B-B", confirm_certificate=fingerprint)
    assert started.status_code == 202, started.text
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"

    report = client.get(f"/api/v1/records/{record['id']}/signatures", headers=hoa).json()
    (signature,) = report["signatures"]
    assert report["all_valid"] and signature["verdict"] == "valid_test_certificate"
    said = "Chữ ký hợp lệ với chứng thư THỬ NGHIỆM (không có giá trị pháp lý)"
    assert signature["summary_vi"] == said

    (tmp_path / "signed.pdf").write_bytes(content(client, hoa, record["id"], 2))
    env = hoso_env(settings, HOSO_TRUST_DEMO_ROOT="true", FORCE_COLOR="1", COLUMNS="250")
    checked = hoso(settings, "validate", str(tmp_path / "signed.pdf"), "--offline", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"\x1b[32m{said}" in checked.stdout, checked.stdout  # green, like a valid signature
    row = {"title": "t", "author": "a", "school": "s", "record_type": "k", "school_year": "y"}
    row["files"] = [file_row({"path": "documents/signed.pdf", "kind": "pdf", "signatures": [signature]})]
    page = render_report(rows=[row], title="t", package_id="p", requester="r", decisions=[], self_signed=False)
    assert '<li class="ok">✔ ' + said in page and "✘" not in page
