"""`hoso copies …` as a clerk and a principal run it: ask, issue with the school's seal, download;
the refusals exit 1 with their message."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from flows.settings import Settings
from signing import keys
from tests.api.test_cli import hoso, hoso_env
from tests.factories import World, lesson_plan_pdf, login
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.search.test_search_api import upload


def test_copies_from_a_shell(
    settings: Settings, engine: Engine, world: World, client: TestClient, pki: TestPKI, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"trust_roots": str(pki.root_pem_path()), "tsa_url": pki.tsa_url})
    original = lesson_plan_pdf("Kế hoạch bài dạy: Hình học")
    record = {"id": upload(client, login(client, "gv.lan"), "khbd.pdf", original, title="Kế hoạch bài dạy: Hình học")}
    env = hoso_env(settings)
    other = hoso(settings, "copies", "request", record["id"], "--kind", "copy", "--purpose", "Xem", "--as", "gv.binh")
    assert other.returncode == 1 and "không được yêu cầu bản sao" in other.stderr
    asked = hoso(
        settings,
        "copies",
        "request",
        record["id"],
        "--kind",
        "authenticated",
        "--purpose",
        "Hồ sơ thi đua",
        "--as",
        "vt.thu",
    )
    assert asked.returncode == 0 and "chờ cấp" in asked.stdout, asked.stderr
    copy_id = asked.stdout.split()[0]
    key = tmp_path / "con-dau.p12"
    key.write_bytes(pki.pkcs12("school_seal"))
    teacher = hoso(settings, "copies", "issue", copy_id, "--pkcs12", str(key), "--as", "gv.lan", input="x\n", env=env)
    assert teacher.returncode == 1 and "văn thư hoặc hiệu trưởng" in teacher.stderr
    shown = hoso(  # the school's first seal: shown, not used, until its fingerprint is typed back
        settings,
        "copies",
        "issue",
        copy_id,
        "--pkcs12",
        str(key),
        "--as",
        "ht.hoa",
        input=PKCS12_PASSWORD.decode() + "\n",
    )
    fingerprint = keys.fingerprint(pki.cert_der("school_seal"))
    assert shown.returncode == 1 and f"--confirm-seal {fingerprint}" in shown.stderr, shown.stderr
    assert "Trường Tiểu học An Bình" in shown.stderr  # the subject, to check
    issued = hoso(
        settings,
        "copies",
        "issue",
        copy_id,
        "--pkcs12",
        str(key),
        "--confirm-seal",
        fingerprint,
        "--as",
        "ht.hoa",
        input=PKCS12_PASSWORD.decode() + "\n",
    )
    assert issued.returncode == 0 and "đã cấp" in issued.stdout and "01/" in issued.stdout, issued.stderr
    out = tmp_path / "ban-sao.pdf"
    got = hoso(settings, "copies", "download", copy_id, "--out", str(out), "--as", "vt.thu")
    assert got.returncode == 0 and hashlib.sha256(out.read_bytes()).hexdigest() in got.stdout, got.stderr
    listed = hoso(settings, "copies", "list", "--as", "ht.hoa")
    assert copy_id in listed.stdout
