"""Scans and photos become searchable PDF/A-2b (issue #16 item 1), with real OCRmyPDF and Tesseract.

Each fixture is one small page of Vietnamese text drawn with Pillow and DejaVu Sans at a known
resolution, so Tesseract has real accented words to read. The job's own step (`ocr.run_one`) is
called by the tests; nothing waits on a background thread.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import calendar
from archive.models import AuditEvent, Blob, Record, RecordType, Rendition, RenditionState, Role, Version
from archive.scan_models import ScanFacts
from archive.scans import MAX_ATTEMPTS
from flows.renditions import ocr
from flows.settings import Settings
from tests import factories
from tests.conftest import require_tool
from tests.factories import World, login
from tests.search.test_search_api import find, index_now
from tests.web.test_pages_http import page_login

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = ("Học bạ học sinh lớp năm", "Trường Tiểu học Nguyễn Trãi", "Kết quả học tập xuất sắc")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    require_tool("ocrmypdf")
    require_tool("tesseract")
    return settings


def page_image(dpi: int, mode: str = "RGB") -> Image.Image:
    """A 4 × 1.6 inch strip of a học bạ at `dpi`, its text 14 pt, as a scanner would make it."""
    image = Image.new("RGB", (4 * dpi, dpi * 16 // 10), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, dpi * 14 // 72)
    for n, line in enumerate(LINES):
        draw.text((dpi // 5, dpi // 6 + n * dpi * 3 // 10), line, fill="black", font=font)
    return image.convert(mode)


def encoded(image: Image.Image, fmt: str, dpi: int | None) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **({"dpi": (dpi, dpi)} if dpi else {}), **({"resolution": dpi} if fmt == "PDF" else {}))
    return out.getvalue()


def scan_pdf(image: Image.Image, dpi: int) -> bytes:
    """A one-page image-only PDF, as a scanner's driver writes it (Pillow's, rewritten by pypdf: Pillow's
    own cross-reference table has an entry pyHanko refuses)."""
    from pypdf import PdfWriter

    out = io.BytesIO()
    PdfWriter(clone_from=PdfReader(io.BytesIO(encoded(image, "PDF", dpi)))).write(out)
    return out.getvalue()


def post(client: TestClient, headers: dict[str, str], name: str, data: bytes, record_type: str = "transcript"):  # type: ignore[no-untyped-def]
    body = json.dumps(factories.meta(title=f"Học bạ — {name}", record_type=record_type, subject=None, month=None))
    return client.post("/api/v1/records", headers=headers, files={"metadata": (None, body), "file": (name, data)})


def run_one(client: TestClient) -> int:
    return ocr.run_one(client.app.state.hoso, "test-worker")  # type: ignore[attr-defined]


def pdfa_id(data: bytes) -> tuple[str, str]:
    """(part, conformance) from the XMP packet, read here without hoso's own helper."""
    metadata = PdfReader(io.BytesIO(data)).xmp_metadata
    assert metadata is not None, "no XMP metadata"
    packet = metadata.stream.get_data().decode("utf-8")
    part = re.search(r'pdfaid:part(?:="|>)\s*(\d)', packet)
    conformance = re.search(r'pdfaid:conformance(?:="|>)\s*([A-Za-z])', packet)
    assert part and conformance, packet[:500]
    return part.group(1), conformance.group(1)


def test_a_photo_of_a_hoc_ba_becomes_a_searchable_pdfa_beside_the_untouched_original(
    client: TestClient, world: World, session: Session
) -> None:
    lan = login(client, "gv.lan")
    photo = encoded(page_image(300), "JPEG", 300)
    answer = post(client, lan, "hoc-ba.jpg", photo)
    assert answer.status_code == 201, answer.text
    assert answer.json()["scan_warnings"] == []
    record_id = answer.json()["id"]
    page_login(client, "gv.lan")
    assert "Đang chờ nhận dạng chữ (OCR)" in client.get(f"/ho-so/{record_id}").text
    assert run_one(client) == 1
    session.commit()
    rendition = session.scalar(select(Rendition).where(Rendition.record_id == record_id))
    assert rendition is not None and rendition.state == RenditionState.done, rendition and rendition.error
    assert rendition.tool is not None and re.fullmatch(
        r"OCRmyPDF \d+\.\d+\.\d+ / Tesseract \d+\.\d+\.\d+", rendition.tool
    )
    made = client.get(f"/api/v1/records/{record_id}/versions/{rendition.version_number}/content", headers=lan)
    assert made.headers["content-type"] == "application/pdf"
    assert pdfa_id(made.content) == ("2", "B")
    original = client.get(f"/api/v1/records/{record_id}/versions/1/content", headers=lan)
    assert original.content == photo  # the original is never rewritten
    versions = client.get(f"/api/v1/records/{record_id}/versions", headers=lan).json()
    assert [(v["kind"], v["derived_from"]) for v in versions] == [("original", None), ("derived", 1)]

    index_now(client)
    for q in ("Nguyễn Trãi", "nguyen trai", "xuất sắc", "xuat sac"):  # accents optional
        assert [h["id"] for h in find(client, lan, q)["hits"]] == [record_id], q
    page = client.get(f"/ho-so/{record_id}").text
    assert "Bản PDF/A-2b có lớp chữ tiếng Việt (phiên bản 2)" in page and "tệp gốc giữ nguyên" in page
    assert f"/versions/{rendition.version_number}/pages/1.png" in page


def test_a_scanned_pdf_is_ocred_but_a_pdf_with_text_or_a_signature_is_left_alone(
    client: TestClient, world: World, session: Session, tmp_path: Path
) -> None:
    lan = login(client, "gv.lan")
    scan = scan_pdf(page_image(300), 300)
    scanned = post(client, lan, "so-dang-bo.pdf", scan, "enrollment_register")
    with_text = post(client, lan, "ke-hoach.pdf", factories.lesson_plan_pdf("Toán 5"), "lesson_plan")
    signed = post(client, lan, "da-ky.pdf", signed_pdf(scan, tmp_path), "enrollment_register")
    assert all(r.status_code == 201 for r in (scanned, with_text, signed)), [r.text for r in (with_text, signed)]
    session.commit()
    queued = {r.record_id for r in session.scalars(select(Rendition))}
    assert queued == {scanned.json()["id"]}  # never OCRed: the text PDF and the signed scan
    assert {f.record_id for f in session.scalars(select(ScanFacts))} == {scanned.json()["id"]}
    assert run_one(client) == 1 and run_one(client) == 0
    session.commit()
    made = session.scalar(select(Version).where(Version.record_id == scanned.json()["id"], Version.number == 2))
    assert made is not None and made.kind == "derived" and made.derived_from == 1
    body = client.get(f"/api/v1/records/{scanned.json()['id']}/versions/2/content", headers=lan).content
    assert pdfa_id(body) == ("2", "B")
    assert "Nguyễn Trãi" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    for record in (with_text.json(), signed.json()):
        assert client.get(f"/api/v1/records/{record['id']}", headers=lan).json()["current_version"] == 1


def signed_pdf(data: bytes, folder: Path) -> bytes:
    """`data` signed with pyHanko by a throwaway self-signed key: a signed scan hoso must never OCR."""
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hiệu trưởng thử")])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder(subject_name=name, issuer_name=name, public_key=key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    (folder / "k.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (folder / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    signer = signers.SimpleSigner.load(str(folder / "k.pem"), str(folder / "c.pem"))
    assert signer is not None
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(data)), signers.PdfSignatureMetadata(field_name="HieuTruong"), signer=signer
    )
    return out.getvalue()


def test_a_scan_below_tt05_is_stored_with_a_warning_or_refused_where_the_type_says_so(
    client: TestClient, world: World, session: Session
) -> None:
    lan = login(client, "gv.lan")
    low = encoded(page_image(150), "PNG", 150)
    warned = post(client, lan, "anh-150.png", low)
    assert warned.status_code == 201, warned.text
    said = [w["message"] for w in warned.json()["scan_warnings"]]
    assert said == ["ảnh quét 150 dpi, dưới mức 200 dpi của Thông tư 05/2025"]
    grey = post(client, lan, "anh-xam.png", encoded(page_image(300, "L"), "PNG", 300))
    assert [w["message"] for w in grey.json()["scan_warnings"]] == [
        "ảnh 8 bit màu, dưới mức 24 bit màu của Thông tư 05/2025"
    ]
    page_login(client, "gv.lan")
    page = client.get(f"/ho-so/{warned.json()['id']}").text
    assert "Chưa đạt chuẩn số hóa: ảnh quét 150 dpi, dưới mức 200 dpi của Thông tư 05/2025." in page

    session.commit()  # the page's read ends before this write
    factories.person(session, "lt.mai", Role.archivist, "THA")
    mai, rule = login(client, "lt.mai"), "/api/v1/record-types/transcript/scan-rule"
    admin = login(client, "admin1")  # two schools here: the rule is every school's, not THA's archivist's
    for who, body, status, words in (
        (lan, {"policy": "refuse", "min_dpi": 200, "reason": "quét lại"}, 403, "chỉ quản trị viên hệ thống"),
        (mai, {"policy": "refuse", "min_dpi": 200, "reason": "quét lại"}, 403, "dùng chung cho mọi trường"),
        (admin, {"policy": "never", "min_dpi": 200, "reason": "x"}, 422, "'warn'"),
        (admin, {"policy": "refuse", "min_dpi": 150, "reason": "x"}, 422, "từ 200 dpi (Thông tư 05/2025, Điều 8)"),
        (admin, {"policy": "refuse", "min_dpi": 200, "reason": " "}, 422, "reason: không được để trống"),
    ):
        answer = client.patch(rule, headers=who, json=body)
        assert answer.status_code == status and words in answer.text, answer.text
    session.commit()
    assert session.scalar(select(RecordType.scan_policy).where(RecordType.code == "transcript")) == "warn"
    stricter = {"policy": "refuse", "min_dpi": 200, "reason": "Học bạ phải đọc rõ"}
    changed = client.patch(rule, headers=admin, json=stricter)
    assert changed.status_code == 200 and changed.json()["scan_policy"] == "refuse", changed.text
    session.commit()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "record_type.scan_rule_changed")).one()
    assert event.details["before"]["policy"] == "warn" and event.details["reason"] == "Học bạ phải đọc rõ"
    session.commit()
    records, blobs = (session.scalar(select(func.count()).select_from(t)) for t in (Record, Blob))
    refused = post(client, lan, "anh-150-lan-2.png", encoded(page_image(150), "PNG", 150))
    assert refused.status_code == 422, refused.text
    assert "ảnh quét 150 dpi, dưới mức 200 dpi của Thông tư 05/2025" in refused.json()["message"]
    assert "quét lại từ 200 dpi" in refused.json()["message"]
    session.commit()
    assert session.scalar(select(func.count()).select_from(Record)) == records  # nothing half-stored
    assert session.scalar(select(func.count()).select_from(Blob)) == blobs
    accepted = post(client, lan, "anh-300.png", encoded(page_image(300), "PNG", 300))
    assert accepted.status_code == 201 and accepted.json()["scan_warnings"] == []


def test_a_damaged_image_fails_its_job_alone_and_an_unreadable_one_is_refused_at_upload(
    client: TestClient, world: World, session: Session
) -> None:
    lan = login(client, "gv.lan")
    whole = encoded(page_image(300), "PNG", 300)
    cut = post(client, lan, "bi-cat.png", whole[: len(whole) // 2])  # its header reads; its pixels stop half-way
    good = post(client, lan, "tot.png", whole)
    assert cut.status_code == 201 and good.status_code == 201, cut.text
    not_image = post(client, lan, "hong.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200)
    assert not_image.status_code == 422 and "Không đọc được ảnh 'hong.png'" in not_image.json()["message"]
    assert run_one(client) == 1 and run_one(client) == 1  # the damaged one fails, the good one is made
    for attempt in range(2, MAX_ATTEMPTS + 1):  # retried with back-off, on the one clock
        with calendar.pinned(calendar.now() + timedelta(hours=attempt)):
            assert run_one(client) == 1
    session.commit()
    rows = {r.record_id: r for r in session.scalars(select(Rendition).execution_options(populate_existing=True))}
    failed = rows[cut.json()["id"]]
    assert failed.state == RenditionState.failed and failed.error == ocr.UNREADABLE[0]
    assert rows[good.json()["id"]].state == RenditionState.done
    record = session.get(Record, cut.json()["id"])
    assert record is not None and record.current_version == 1  # the original only, still served
    assert client.get(f"/api/v1/records/{record.id}/content", headers=lan).content == whole[: len(whole) // 2]
    page_login(client, "gv.lan")
    page = client.get(f"/ho-so/{record.id}").text
    assert "Không nhận dạng được chữ từ ảnh quét gốc (phiên bản 1)." in page and ocr.UNREADABLE[0] in page


def test_a_long_scan_gets_time_by_its_pages_and_the_record_page_follows_its_progress(
    client: TestClient, world: World, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A register of many pages is not a timeout: its limit grows with its pages (1 s alone here, far
    too short for five pages), and the record page says how far the OCR is while it runs."""
    state = client.app.state.hoso  # type: ignore[attr-defined]
    state.settings = settings.model_copy(update={"ocr_seconds_per_page": 60.0, "ocr_min_seconds": 1.0})
    pages = [page_image(200) for _ in range(5)]
    scan = io.BytesIO()
    pages[0].save(scan, format="PDF", resolution=200, save_all=True, append_images=pages[1:])
    lan = login(client, "gv.lan")
    record = post(client, lan, "so-dang-bo.pdf", scan.getvalue())
    assert record.status_code == 201, record.text
    page_login(client, "gv.lan")
    seen: list[tuple[int, str]] = []
    report = ocr._progress

    def watched(state: object, task: object, done: int) -> None:  # the job's own write, then the page
        report(state, task, done)  # type: ignore[arg-type]
        seen.append((done, client.get(f"/ho-so/{record.json()['id']}").text))

    monkeypatch.setattr(ocr, "_progress", watched)
    assert run_one(client) == 1
    session.commit()
    row = session.scalar(select(Rendition).where(Rendition.record_id == record.json()["id"]))
    assert row is not None and row.state == RenditionState.done, row and row.error
    counts = [done for done, _ in seen]
    assert counts and counts == sorted(set(counts)) and counts[-1] == 5, counts
    first, text = seen[0]
    assert f"Đang nhận dạng chữ (OCR): {first}/5 trang." in text


def test_ocr_past_its_time_limit_is_killed_with_its_process_group(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    state = client.app.state.hoso  # type: ignore[attr-defined]
    state.settings = settings.model_copy(update={"ocr_seconds_per_page": 0.0, "ocr_min_seconds": 0.3})
    lan = login(client, "gv.lan")
    record = post(client, lan, "hoc-ba.png", encoded(page_image(300), "PNG", 300)).json()
    assert run_one(client) == 1
    session.commit()
    row = session.scalar(select(Rendition).where(Rendition.record_id == record["id"]))
    assert row is not None and row.state == RenditionState.queued and row.error == ocr.TIMED_OUT[0]
    left = subprocess.run(["pgrep", "-f", str(settings.tmp_dir)], capture_output=True, text=True).stdout.split()
    alive = [pid for pid in left if _state(pid) not in ("Z", "")]
    assert not alive, f"OCR processes left running: {alive}"


def _state(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def test_a_resumable_uploads_scan_warning_is_told_again_to_a_client_that_lost_the_answer(
    client: TestClient, world: World
) -> None:
    lan = login(client, "gv.lan")
    low = encoded(page_image(150), "PNG", 150)
    body = {"metadata": factories.meta(title="Học bạ quét", record_type="transcript", subject=None, month=None)}
    made = client.post("/api/v1/uploads", headers=lan, json={**body, "filename": "hoc-ba.png", "size": len(low)})
    assert made.status_code == 201, made.text
    url, chunk = made.json()["url"], {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    said = ["ảnh quét 150 dpi, dưới mức 200 dpi của Thông tư 05/2025"]
    done = client.patch(url, headers={**lan, **chunk}, content=low)
    assert done.status_code == 200 and [w["message"] for w in done.json()["scan_warnings"]] == said, done.text
    again = client.patch(url, headers={**lan, **chunk}, content=low)  # the answer was lost: sent again
    assert [w["message"] for w in again.json()["scan_warnings"]] == said and again.json()["record_id"]
    asked = client.get(url, headers=lan).json()  # or asked, as the page does after a reload
    assert asked["state"] == "done" and [w["message"] for w in asked["scan_warnings"]] == said
