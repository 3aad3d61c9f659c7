"""Renditions as jobs: a Word/Excel file gets a PDF beside it, never over it; a file LibreOffice cannot
convert, or one that runs past the time limit, fails its own job alone and says so on the record page,
while the original stays usable; a password-protected DOCX is refused at upload; a transfer package
carries the original, its rendition, their PRONOM formats and the normalization event linking them.

The worker's own step (`run_batch`) is called by the tests, so nothing waits on a background thread."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import calendar
from archive.models import Job, Record, Rendition, RenditionState
from archive.renditions import MAX_ATTEMPTS, RENDITION_JOB
from flows.evidence.verify import verify
from flows.renditions import run as renditions
from flows.settings import Settings
from tests import factories
from tests.conftest import require_tool
from tests.factories import World, login
from tests.flows.test_evidence import EARK_PYTHON, ROOT
from tests.search.test_search_api import upload
from tests.signing.test_rendition_signing import plan_docx, upload_docx
from tests.web.test_pages_http import page_login


@pytest.fixture
def settings(settings: Settings) -> Settings:
    require_tool("soffice")
    return settings


def transcript_xlsx(title: str) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Họ và tên", "Lớp", "Điểm trung bình"])
    sheet.append(["Nguyễn Thị Ánh", "5A", 9.1])
    sheet.title = title[:31]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run_all(client: TestClient) -> int:
    return renditions.run_batch(client.app.state.hoso, "test-worker")  # type: ignore[attr-defined]


def test_a_file_libreoffice_cannot_open_fails_alone_and_the_page_says_so(
    client: TestClient, world: World, session: Session, clock: object
) -> None:
    lan = login(client, "gv.lan")
    good = upload_docx(client, lan, "Toán 5 — Số thập phân", plan_docx("Toán 5 — Số thập phân"))
    bad = upload_docx(client, lan, "Tiếng Việt 5 — Tập làm văn", factories.docx_bytes())  # no body LibreOffice reads
    assert run_all(client) == 2  # one office for both; the bad one tried again alone
    session.commit()
    rows = {r.record_id: r for r in session.scalars(select(Rendition))}
    assert rows[good["id"]].state == RenditionState.done and rows[good["id"]].version_number == 2
    assert rows[bad["id"]].state == RenditionState.queued and rows[bad["id"]].error == renditions.UNMADE[0]
    for attempt in range(2, MAX_ATTEMPTS + 1):  # retried with back-off, on the one clock
        with calendar.pinned(calendar.now() + timedelta(hours=attempt)):
            assert run_all(client) == 1
    session.commit()
    failed = session.scalar(
        select(Rendition).where(Rendition.record_id == bad["id"]).execution_options(populate_existing=True)
    )
    assert failed is not None and failed.state == RenditionState.failed and failed.attempts == MAX_ATTEMPTS
    job = session.scalar(select(Job).where(Job.kind == RENDITION_JOB, Job.state == "failed"))
    assert job is not None and "could not open" in (job.last_error or "")
    record = session.get(Record, bad["id"])
    assert record is not None and record.current_version == 1  # nothing half-stored: the original only

    page_login(client, "gv.lan")
    page = client.get(f"/ho-so/{bad['id']}").text
    assert "Không tạo được bản PDF từ tệp gốc (phiên bản 1)." in page and renditions.UNMADE[0] in page
    assert "Tệp gốc vẫn xem, tải về và nộp duyệt được" in page
    made = client.get(f"/ho-so/{good['id']}").text
    assert "Bản PDF (phiên bản 2) được tạo từ tệp gốc (phiên bản 1)" in made and "bản PDF chuyển đổi" in made
    # the original stays signable the old way: it can be submitted like any plan
    submitted = client.post(f"/api/v1/records/{bad['id']}/submit", headers=lan, json={"period": "2026-11"})
    assert submitted.status_code == 201 and submitted.json()["version"] == 1, submitted.text


def test_a_conversion_past_the_time_limit_is_killed_with_its_process_group(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    state = client.app.state.hoso  # type: ignore[attr-defined]
    state.settings = settings.model_copy(update={"rendition_seconds": 0.05})  # no office starts that fast
    lan = login(client, "gv.lan")
    record = upload_docx(client, lan, "Khoa học 5 — Nước", plan_docx("Khoa học 5 — Nước"))
    assert run_all(client) == 1
    session.commit()
    row = session.scalar(select(Rendition).where(Rendition.record_id == record["id"]))
    assert row is not None and row.state == RenditionState.queued and row.error == renditions.TIMED_OUT[0]
    profiles = str(settings.data_dir / "renditions")
    left = subprocess.run(["pgrep", "-f", profiles], capture_output=True, text=True).stdout.split()
    alive = [pid for pid in left if _state(pid) not in ("Z", "")]
    assert not alive, f"LibreOffice processes left running: {alive}"


def _state(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def test_a_password_protected_docx_is_refused_at_upload_with_nothing_stored(
    client: TestClient, world: World, session: Session
) -> None:
    msoffcrypto = pytest.importorskip("msoffcrypto.format.ooxml")
    locked = io.BytesIO()
    msoffcrypto.OOXMLFile(io.BytesIO(plan_docx("Toán 5"))).encrypt("matkhau", locked)
    lan = login(client, "gv.lan")
    body = json.dumps(factories.meta(title="Toán 5 — có mật khẩu", month=11))
    response = client.post(
        "/api/v1/records", headers=lan, files={"metadata": (None, body), "file": ("ke-hoach.docx", locked.getvalue())}
    )
    assert response.status_code == 422, response.text
    assert "được đặt mật khẩu" in response.json()["message"] and "bỏ mật khẩu" in response.json()["message"]
    session.commit()
    assert session.scalar(select(func.count()).select_from(Record)) == 0
    assert session.scalar(select(func.count()).select_from(Rendition)) == 0


def test_a_transfer_carries_the_original_its_rendition_and_the_event_linking_them(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    fields = {"record_type": "transcript", "subject": None, "month": None, "school_year": "2023-2024"}
    record_id = upload(client, lan, "hoc-ba.xlsx", transcript_xlsx("Học bạ 5A"), title="Học bạ lớp 5A", **fields)
    assert run_all(client) == 1
    made = client.post(
        "/api/v1/retention/transfers", headers=hoa, json={"school_code": "THA", "school_year": "2023-2024"}
    )
    assert made.status_code == 201, made.text
    package = tmp_path / "nop-luu.zip"
    package.write_bytes(client.get(made.json()["download_url"], headers=hoa).content)
    with zipfile.ZipFile(package) as z:
        root = z.namelist()[0].split("/", 1)[0]
        inside = [n.split("/", 1)[1] for n in z.namelist()]
        premis = z.read(f"{root}/metadata/preservation/premis.xml").decode()
    folder = f"representations/rep1/data/{record_id}/"
    assert f"{folder}v1-hoc-ba.xlsx" in inside and f"{folder}v2-hoc-ba.pdf" in inside
    assert "<premis:eventType>normalization</premis:eventType>" in premis and "LibreOffice" in premis
    assert "<premis:formatRegistryKey>fmt/214</premis:formatRegistryKey>" in premis  # the XLSX, by PRONOM
    assert premis.count("<premis:formatRegistryName>PRONOM</premis:formatRegistryName>") >= 2
    verdict = verify(package, settings)
    assert verdict.intact, verdict.problems
    if EARK_PYTHON.exists():
        result = subprocess.run(
            [str(EARK_PYTHON), str(ROOT / "tests" / "tools" / "eark_validate.py"), str(package)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        report = json.loads(result.stdout)
        assert report["structure"] == "WellFormed"
        assert {e["rule"] for e in report["errors"]} <= {"SIP14"}, report["errors"]  # as in test_transfer.py
