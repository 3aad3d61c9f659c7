"""Evidence packages: an inspector exports a signed month; `hoso verify` and eark-validator accept it;
one changed byte anywhere, a removed file or a swapped seal is caught and named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.verify_package import verify
from archive import calendar
from archive.models import AuditEvent, Role
from archive.settings import Settings
from tests.api.test_cli import hoso, hoso_env
from tests.factories import World, login, mp4_bytes, person
from tests.pki import TestPKI
from tests.search.test_search_api import index_now, upload
from tests.signing.conftest import approve_all, sign, submit, upload_plan, wait_batch

ROOT = Path(__file__).resolve().parents[2]
EARK_PYTHON = ROOT / ".venv-eark" / "bin" / "python"


@pytest.fixture
def settings(settings: Settings, pki: TestPKI) -> Settings:
    return settings.model_copy(update={"trust_roots": str(pki.root_pem_path()), "tsa_url": pki.tsa_url})


def wait_ready(client: TestClient, headers: dict[str, str], export_id: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        export = client.get(f"/api/v1/evidence/{export_id}", headers=headers).json()
        if export["state"] in ("ready", "failed"):
            return export  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"evidence {export_id} not built in {timeout}s")


@pytest.fixture
def package(
    client: TestClient, world: World, session: Session, pki: TestPKI, tmp_path: Path, principal_certificate: None
) -> Path:
    """A school's month: three plans signed (B-LT), a recording; an inspector exports it."""
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    batch_id = ""
    for title in ("Toán 5 — Phân số", "Tiếng Việt 5 — Tập đọc", "Khoa học 5 — Nước"):
        record = upload_plan(client, lan, title, school_year="2026-2027")
        batch_id = submit(client, lan, record["id"])["batch_id"]
    approve_all(client, hoa, batch_id)
    assert sign(client, hoa, batch_id, pki.pkcs12("principal"), level="B-LT").status_code == 202
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"
    video = {
        "record_type": "lesson_recording",
        "title": "Video tiết dạy Toán 5",
        "school_year": "2026-2027",
        "month": 11,
    }
    upload(client, lan, "tiet-day.mp4", mp4_bytes(200_000), **video)
    person(session, "tt.nam", Role.inspector, None)
    grant = {
        "inspector": "tt.nam",
        "decision_number": "125/QĐ-PGDĐT",
        "school_codes": ["THA"],
        "school_years": ["2026-2027"],
        "expires_at": (calendar.now() + timedelta(days=7)).isoformat(),
    }
    assert client.post("/api/v1/grants", headers=hoa, json=grant).status_code == 201
    index_now(client)
    nam = login(client, "tt.nam")
    response = client.post(
        "/api/v1/evidence",
        headers=nam,
        json={"title": "Thanh tra tháng 11/2026 — THA", "search": {"q": "", "filters": {"month": ["11"]}}},
    )
    assert response.status_code == 202, response.text
    assert response.json()["records"] == 5  # three plans, the approval record, the recording
    export = wait_ready(client, nam, response.json()["id"])
    assert export["state"] == "ready", export
    download = client.get(export["download_url"], headers=nam)
    assert download.status_code == 200 and download.headers["x-content-sha256"] == export["sha256"]
    path = tmp_path / "evidence.zip"
    path.write_bytes(download.content)
    return path


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [n.split("/", 1)[1] for n in z.namelist()]


def test_the_package_proves_itself_offline(package: Path, settings: Settings, session: Session) -> None:
    inside = names(package)
    assert {"METS.xml", "manifest-sha256.txt", "seal.p7s", "metadata/preservation/premis.xml"} <= set(inside)
    assert "metadata/descriptive/hoso-records.xml" in inside and "documentation/bao-cao-chung-cu.html" in inside
    data = [n for n in inside if "/data/" in n]
    assert sum(n.endswith("-da-ky.pdf") for n in data) == 4  # three plans and the approval record, signed
    assert any(n.endswith(".mp4") for n in data)
    with zipfile.ZipFile(package) as z:
        root = z.namelist()[0].split("/")[0]
        report = z.read(f"{root}/documentation/bao-cao-chung-cu.html").decode()
        assert "Chữ ký hợp lệ" in report and "Nguyễn Thị Hoa" in report and "125/QĐ-PGDĐT" in report
        reports = [json.loads(z.read(f"{root}/{n}")) for n in inside if n.startswith("documentation/signatures/")]
        signed = [f for r in reports for f in r["files"] if f["kind"] == "signed"]
        assert len(signed) == 4 and all(f["signatures"][0]["level"] == "B-LT" for f in signed)
        descriptive = z.read(f"{root}/metadata/descriptive/hoso-records.xml").decode()
        assert "<hoso:fileCode>hoso-evidence-" in descriptive and "<hoso:maintenance>" in descriptive
    verdict = verify(package, settings.model_copy(update={"trust_roots": ""}))  # the package's own roots
    assert verdict.ok, verdict.problems
    assert verdict.signatures_checked >= 4 and verdict.audit_events_checked > 0
    session.commit()
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("evidence.%"))))
    assert actions == {"evidence.requested", "evidence.built", "evidence.downloaded"}


def test_hoso_verify_from_the_command_line(package: Path, settings: Settings) -> None:
    ok = hoso(settings, "verify", str(package), env=hoso_env(settings))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "HỢP LỆ / VALID" in ok.stdout and "hoso — con dấu hệ thống" in ok.stdout
    missing = hoso(settings, "verify", str(package.with_name("khong-co.zip")), env=hoso_env(settings))
    assert missing.returncode != 0


def test_eark_validator_accepts_the_package(package: Path) -> None:
    if not EARK_PYTHON.exists():
        message = "eark-validator's environment is missing (make test creates .venv-eark)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [str(EARK_PYTHON), str(ROOT / "tests" / "tools" / "eark_validate.py"), str(package)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["structure"] == "WellFormed"


def flipped(package: Path, offset: int, target: Path) -> Path:
    data = bytearray(package.read_bytes())
    data[offset] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def test_one_changed_byte_anywhere_fails(package: Path, settings: Settings, tmp_path: Path) -> None:
    size = package.stat().st_size
    plain = settings.model_copy(update={"trust_roots": ""})
    with zipfile.ZipFile(package) as z:
        starts = [i.header_offset for i in z.infolist()]
    # every local header, bytes inside headers, the central directory, the end record, and data spread out
    spread = range(0, size, max(1, size // 40))
    offsets = sorted({*starts, *(s + 14 for s in starts), *(s + 40 for s in starts), size - 1, size - 10, *spread})
    for offset in offsets:
        verdict = verify(flipped(package, offset, tmp_path / "changed.zip"), plain)
        assert not verdict.ok, f"a byte changed at offset {offset} of {size} went unnoticed"


def rewrite(package: Path, target: Path, change: str) -> Path:
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            rel = info.filename.split("/", 1)[1]
            if change == "remove" and rel.endswith(".mp4"):
                continue
            if change == "edit-report" and rel == "documentation/bao-cao-chung-cu.html":
                data = data.replace("Chữ ký hợp lệ".encode(), "Chữ ký hợp lệ!".encode(), 1)
            out.writestr(info, data)
    return target


@pytest.mark.parametrize(("change", "words"), [("remove", "Thiếu tệp"), ("edit-report", "sai SHA-256")])
def test_removed_or_edited_files_are_named(
    package: Path, settings: Settings, tmp_path: Path, change: str, words: str
) -> None:
    verdict = verify(rewrite(package, tmp_path / "changed.zip", change), settings)
    assert not verdict.ok
    assert any(words in vi for vi, _ in verdict.problems), verdict.problems


def test_a_swapped_seal_is_caught(package: Path, settings: Settings, tmp_path: Path) -> None:
    """The seal of another package (a valid signature, over another manifest) does not fit this one."""
    other = tmp_path / "other.zip"
    shutil.copy(package, other)
    with zipfile.ZipFile(package) as z:
        root = z.namelist()[0].split("/")[0]
        manifest = z.read(f"{root}/manifest-sha256.txt")
    from signing import seal

    key, _ = seal.load(settings)
    try:
        foreign = seal.seal(settings, key, manifest + b"0" * 64 + b"  extra.txt\n")
    finally:
        key.close()
    target = tmp_path / "swapped.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            out.writestr(info, foreign if info.filename.endswith("/seal.p7s") else src.read(info))
    verdict = verify(target, settings)
    assert any("niêm phong" in vi.lower() for vi, _ in verdict.problems), verdict.problems


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"title": "x", "record_ids": []}, 422, "ít nhất một hồ sơ"),
        ({"title": "x", "search": {"q": "khong co gi het"}}, 422, "ít nhất một hồ sơ"),
        ({"title": "x", "search": {"q": "", "filters": {"password": ["1"]}}}, 422, "Không lọc được"),
        ({"title": "", "record_ids": ["x"]}, 422, ""),
        ({"title": "x", "record_ids": ["00000000-0000-0000-0000-000000000000"]}, 404, "Không tìm thấy"),
    ],
)
def test_bad_evidence_requests(client: TestClient, world: World, body: dict, status: int, words: str) -> None:  # type: ignore[type-arg]
    response = client.post("/api/v1/evidence", headers=login(client, "ht.hoa"), json=body)
    assert response.status_code == status, response.text
    if words:
        assert words in response.json()["message"]


def test_size_and_count_limits(client: TestClient, world: World, settings: Settings) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    ids = [upload_plan(client, lan, f"Kế hoạch {i}")["id"] for i in range(3)]
    settings.evidence_max_records = 2
    too_many = client.post("/api/v1/evidence", headers=hoa, json={"title": "x", "record_ids": ids})
    assert too_many.status_code == 422 and "tối đa 2 hồ sơ" in too_many.json()["message"]
    settings.evidence_max_records, settings.evidence_max_bytes = 100, 1000
    too_big = client.post("/api/v1/evidence", headers=hoa, json={"title": "x", "record_ids": ids})
    assert too_big.status_code == 422 and "quá lớn" in too_big.json()["message"]


def test_an_inspector_cannot_export_or_download_outside_the_grant(
    client: TestClient, world: World, session: Session
) -> None:
    person(session, "tt.nam", Role.inspector, None)
    binh = login(client, "gv.binh")
    other = upload_plan(client, binh, "Trường khác", school_code="THB")["id"]
    nam = login(client, "tt.nam")
    response = client.post("/api/v1/evidence", headers=nam, json={"title": "x", "record_ids": [other]})
    assert response.status_code == 403
    someone_else = client.get("/api/v1/evidence/00000000-0000-0000-0000-000000000000/download", headers=nam)
    assert someone_else.status_code == 404
