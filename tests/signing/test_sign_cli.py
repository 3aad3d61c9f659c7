"""`hoso sign-month` and `hoso validate` as a principal runs them, including a SIGKILL mid-batch."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive.models import Version
from flows.settings import Settings
from signing.models import ApprovalBatch, ApprovalItem, Signature
from tests.api.test_cli import hoso, hoso_env
from tests.factories import World, login
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.signing.conftest import approve_all, submit, upload_plan


def sign_month(p12: Path) -> list[str]:
    return ["sign-month", "--school", "THA", "--period", "2026-11", "--as", "ht.hoa", "--pkcs12", str(p12)]


def month_of(client: TestClient, n: int) -> str:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    batch_id = ""
    for i in range(n):
        batch_id = submit(client, lan, upload_plan(client, lan, f"Kế hoạch bài dạy số {i + 1}")["id"])["batch_id"]
    approve_all(client, hoa, batch_id)
    return batch_id


def test_sign_month_and_validate_from_the_command_line(
    client: TestClient, world: World, pki: TestPKI, settings: Settings, tmp_path: Path
) -> None:
    month_of(client, 3)
    p12 = pki.pkcs12_file("principal")
    wrong = hoso(
        settings,
        *sign_month(p12),
        env=hoso_env(settings, HOSO_PKCS12_PASSWORD="sai"),
    )
    assert wrong.returncode == 1 and "sai mật khẩu" in wrong.stderr
    ok = hoso(
        settings,
        *sign_month(p12),
        "--level",
        "B-T",
        input=PKCS12_PASSWORD.decode() + "\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert "signed" in ok.stdout and "3" in ok.stdout
    again = hoso(
        settings,
        *sign_month(p12),
        env=hoso_env(settings, HOSO_PKCS12_PASSWORD=PKCS12_PASSWORD.decode()),
    )
    assert again.returncode == 1 and "Không có đợt duyệt" in again.stderr

    hoa = login(client, "ht.hoa")
    record = client.get("/api/v1/records", headers=hoa, params={"record_type": "lesson_plan"}).json()["items"][0]
    signed = client.get(f"/api/v1/records/{record['id']}/versions/2/content", headers=hoa).content
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    checked = hoso(settings, "validate", str(path))
    assert checked.returncode == 0 and "Chữ ký hợp lệ" in checked.stdout, checked.stdout + checked.stderr
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(signed)
    at = data.index(b"Ho") + 1  # a byte of the content stream, inside the signed range
    data[at] ^= 0x01
    tampered.write_bytes(bytes(data))
    bad = hoso(settings, "validate", str(tampered))
    assert bad.returncode == 1
    unsigned = hoso(settings, "validate", str(tmp_path / "signed.pdf"), "--p7s", str(p12))
    assert unsigned.returncode == 1


def test_sigkill_mid_batch_then_rerun_signs_each_item_exactly_once(
    client: TestClient, world: World, pki: TestPKI, settings: Settings, session: Session
) -> None:
    n = 30
    batch_id = month_of(client, n)
    p12 = pki.pkcs12_file("principal")
    # an hour's lease: the dead run's lease is certainly alive when the second run asks, however
    # slow the machine; then the hour "passes" by moving the lease into the past, as time would
    env = hoso_env(
        settings,
        HOSO_PKCS12_PASSWORD=PKCS12_PASSWORD.decode(),
        HOSO_SIGNING_CONCURRENCY="1",
        HOSO_SIGNING_LEASE_SECONDS="3600",
    )
    args = [sys.executable, "-m", "api.cli", *sign_month(p12), "--level", "B-T"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def signed_count() -> int:
        session.commit()
        return (
            session.scalar(
                select(func.count())
                .select_from(ApprovalItem)
                .where(ApprovalItem.batch_id == batch_id, ApprovalItem.sign_state == "signed")
            )
            or 0
        )

    deadline = time.monotonic() + 60
    while signed_count() < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = signed_count()
    assert 3 <= first < n, "the kill must land mid-batch"

    busy = hoso(settings, *args[3:], env=env)  # the dead run's lease has not lapsed yet
    assert busy.returncode == 1 and "đang được ký" in busy.stderr
    session.commit()  # start with the write: the server's worker writes meanwhile (notifications of the signed plans)
    session.execute(
        update(ApprovalBatch).where(ApprovalBatch.id == batch_id).values(lease_until=datetime(2000, 1, 1, tzinfo=UTC))
    )
    session.commit()
    resumed = hoso(settings, *args[3:], env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert signed_count() == n
    session.commit()
    signed_versions = session.scalars(select(Version.record_id).where(Version.kind == "signed")).all()
    assert len(signed_versions) == len(set(signed_versions)) == n + 1  # each plan once, plus the approval record
    assert session.scalar(select(func.count()).select_from(Signature)) == n + 1
    assert hoso(settings, "audit", "verify").returncode == 0
