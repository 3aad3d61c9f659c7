"""The monthly record always completes: what teachers typed is printed as typed, the title names what was
approved, recordings get a detached signature, and a full page still gets a visible, announced stamp."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from flows.settings import Settings
from signing import approval_record, batch
from tests import factories
from tests.conftest import require_tool
from tests.factories import World, login
from tests.pki import TestPKI
from tests.signing.conftest import approve_all, sign, submit, upload_plan, wait_batch
from tests.signing.test_approval_signing import content, nss_db, pdfsig
from tests.web.test_pages_http import page_login

TYPED = [
    "Bài <i>mới",
    "Toán & Tiếng Việt &amp; &#x41;",
    "Dòng một<br/>dòng hai",
    "Kết thúc ]]> và <![CDATA[ mở",
    '<para>Ôn tập</para> <font name="x">phép cộng</font>',
    ("Ôn tập phép cộng, trừ có nhớ trong phạm vi 100 — tiết luyện tập " * 10)[:500].strip(),
    "Đường" * 60,  # one 300-letter word: wider than its column
]


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def flat(text: str) -> str:
    """Without whitespace: table cells wrap wherever the column ends."""
    return "".join(text.split())


def upload_recording(client: TestClient, headers: dict[str, str], title: str, data: bytes) -> dict:  # type: ignore[type-arg]
    body = json.dumps(factories.meta(record_type="lesson_recording", title=title, month=11))
    response = client.post(
        "/api/v1/records", headers=headers, files={"metadata": (None, body), "file": ("tiet-day.mp4", data)}
    )
    assert response.status_code == 201, response.text
    return response.json()


def signed_batch(client: TestClient, pki: TestPKI, record_ids: list[str], **form: str) -> dict:  # type: ignore[type-arg]
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    batch_ids = {submit(client, lan, record_id)["batch_id"] for record_id in record_ids}
    assert len(batch_ids) == 1
    (batch_id,) = batch_ids
    approve_all(client, hoa, batch_id)
    assert sign(client, hoa, batch_id, pki.pkcs12("principal"), **form).status_code == 202
    done = wait_batch(client, hoa, batch_id)
    assert done["state"] == "signed", done
    return done


# -- what teachers typed ----------------------------------------------------------------------------


def test_titles_with_markup_and_long_text_are_printed_as_typed(client: TestClient, world: World, pki: TestPKI) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    records = [upload_plan(client, lan, title) for title in TYPED]
    returned = upload_plan(client, lan, "Bài trả lại")
    batch_id = {submit(client, lan, r["id"])["batch_id"] for r in [*records, returned]}.pop()
    items = client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()["items"]
    comment = "Sửa <b>mục tiêu</b> & bổ sung ]]> " + "nhận xét dài " * 150  # 2000 characters: taller than a page
    back = next(i for i in items if i["record_id"] == returned["id"])
    decided = client.post(
        f"/api/v1/approvals/{batch_id}/decisions",
        headers=hoa,
        json={"decisions": [{"item_id": back["id"], "decision": "returned", "comment": comment[:2000]}]},
    )
    assert decided.status_code == 200, decided.text
    approve_all(client, hoa, batch_id)
    assert sign(client, hoa, batch_id, pki.pkcs12("principal"), level="B-B").status_code == 202
    done = wait_batch(client, hoa, batch_id)
    assert done["state"] == "signed" and done["last_error"] is None, done  # it paused here before
    assert done["counts"]["signed"] == len(TYPED)

    text = flat(pdf_text(content(client, hoa, done["approval_record_id"], 2)))
    for title in TYPED:
        assert flat(title) in text, title
    assert flat("Trả lại: Sửa <b>mục tiêu</b> & bổ sung ]]>") in text


def test_the_title_names_the_record_type_and_the_period() -> None:
    plans, books, videos = "Kế hoạch bài dạy (giáo án)", "Sổ theo dõi và đánh giá học sinh", "Video ghi hình tiết dạy"
    assert approval_record.title([plans, plans], "2026-11") == "Biên bản duyệt kế hoạch bài dạy tháng 11/2026"
    assert (
        approval_record.title([books], "2025-2026-HK1")
        == "Biên bản duyệt sổ theo dõi và đánh giá học sinh học kỳ I năm học 2025-2026"
    )
    assert approval_record.title(["Học bạ"], "2025-2026", round_=2) == "Biên bản duyệt học bạ năm học 2025-2026 (đợt 2)"
    assert (
        approval_record.title([plans, videos, plans], "2026-11")
        == "Biên bản duyệt hồ sơ tháng 11/2026 (kế hoạch bài dạy; video ghi hình tiết dạy)"
    )


def test_a_semester_gradebook_batch_gets_a_gradebook_record(client: TestClient, world: World, pki: TestPKI) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    body = json.dumps(factories.meta(record_type="gradebook", title="Sổ theo dõi lớp 5A", semester=1, month=None))
    files = {"metadata": (None, body), "file": ("so-diem.pdf", factories.lesson_plan_pdf("Sổ theo dõi lớp 5A"))}
    record = client.post("/api/v1/records", headers=lan, files=files).json()
    batch_id = submit(client, lan, record["id"], period="2025-2026-HK1")["batch_id"]
    approve_all(client, hoa, batch_id)
    assert sign(client, hoa, batch_id, pki.pkcs12("principal"), level="B-B").status_code == 202
    done = wait_batch(client, hoa, batch_id)
    assert done["state"] == "signed", done
    approval = client.get(f"/api/v1/records/{done['approval_record_id']}", headers=hoa).json()
    assert approval["title"] == "Biên bản duyệt sổ theo dõi và đánh giá học sinh học kỳ I năm học 2025-2026"
    text = pdf_text(content(client, hoa, approval["id"], 2))
    assert "BIÊN BẢN DUYỆT SỔ THEO DÕI VÀ ĐÁNH GIÁ HỌC SINH HỌC KỲ I NĂM HỌC 2025-2026" in " ".join(text.split())
    assert "KẾ HOẠCH BÀI DẠY" not in text


# -- recordings ----------------------------------------------------------------------------------------


def test_a_recording_is_approved_with_the_plans_and_signed_detached(
    client: TestClient, world: World, pki: TestPKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    video = factories.mp4_bytes(48 * 1024 * 1024)
    video_sha256 = hashlib.sha256(video).hexdigest()
    recording = upload_recording(client, lan, "Tiết dạy trực tuyến Toán 5 — Phân số", video)
    plan = upload_plan(client, lan, "Toán 5 — Phân số")
    read_whole = batch.SigningRun.read

    def no_whole_video(self: batch.SigningRun, sha256: str) -> bytes:
        assert sha256 != video_sha256, "the recording was read into memory"
        return read_whole(self, sha256)

    monkeypatch.setattr(batch.SigningRun, "read", no_whole_video)
    tracemalloc.start()
    try:
        done = signed_batch(client, pki, [recording["id"], plan["id"]], level="B-T")
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # hashed as it streams: the 48 MiB recording is never in memory at once
    assert peak < 24 * 1024 * 1024, f"signing a 48 MiB recording peaked at {peak / 2**20:.0f} MiB"
    places = {i["record_id"]: i["stamp_place"] for i in done["items"]}
    assert places == {recording["id"]: "detached", plan["id"]: "last_page"}

    check = client.get(f"/api/v1/records/{recording['id']}/signatures", headers=hoa).json()
    assert check["all_valid"] and check["version"] == 1, check
    (sig,) = check["signatures"]
    assert sig["kind"] == "cades_detached" and sig["level"] == "CAdES-B-T"
    assert client.get(f"/api/v1/records/{recording['id']}", headers=hoa).json()["status"] == "approved"
    data, p7s = tmp_path / "tiet-day.mp4", tmp_path / "tiet-day.p7s"
    data.write_bytes(video)
    p7s.write_bytes(client.get(sig["p7s_url"], headers=hoa).content)
    verify = [require_tool("openssl"), "cms", "-verify", "-binary", "-inform", "DER", "-in", str(p7s)]
    trust = ["-CAfile", str(pki.root_pem_path()), "-purpose", "any", "-out", "/dev/null"]
    ok = subprocess.run([*verify, "-content", str(data), *trust], capture_output=True, text=True)
    assert ok.returncode == 0 and "Verification successful" in ok.stderr, ok.stderr
    data.write_bytes(video[:-1] + b"\x01")
    assert subprocess.run([*verify, "-content", str(data), *trust], capture_output=True).returncode != 0

    approval = client.get(f"/api/v1/records/{done['approval_record_id']}", headers=hoa).json()
    assert approval["title"] == "Biên bản duyệt hồ sơ tháng 11/2026 (kế hoạch bài dạy; video ghi hình tiết dạy)"
    text = flat(pdf_text(content(client, hoa, approval["id"], 2)))
    assert flat("Loại: Video ghi hình tiết dạy") in text and flat("chữ ký số rời (.p7s)") in text
    assert video_sha256[:32] in text


def test_a_stored_file_that_changed_is_refused_not_signed(
    client: TestClient, world: World, pki: TestPKI, settings: Settings
) -> None:
    lan = login(client, "gv.lan")
    video = factories.mp4_bytes(64 * 1024)
    recording = upload_recording(client, lan, "Tiết dạy bị sửa trên đĩa", video)
    blobs = [p for p in settings.data_dir.rglob(hashlib.sha256(video).hexdigest()) if p.is_file()]
    assert len(blobs) == 1
    blobs[0].chmod(0o644)
    blobs[0].write_bytes(video[:-1] + b"\x02")
    done = signed_batch(client, pki, [recording["id"]], level="B-B")
    (item,) = done["items"]
    assert item["sign_state"] == "failed" and "không khớp" in item["error"]
    record = client.get(f"/api/v1/records/{recording['id']}", headers=login(client, "ht.hoa")).json()
    assert record["status"] == "submitted"


# -- a full page ------------------------------------------------------------------------------------


def stamps(pdf: bytes) -> list[tuple[int, list[float]]]:
    """(page index, rectangle) of every hoso approval signature widget."""
    found = []
    for index, page in enumerate(pypdf.PdfReader(io.BytesIO(pdf)).pages):
        for annot in page.get("/Annots") or []:
            widget = annot.get_object()
            if str(widget.get("/T", "")).startswith("HOSO_DUYET") or str(
                widget.get("/Parent", {}).get("/T", "")
            ).startswith("HOSO_DUYET"):
                found.append((index, [float(v) for v in widget["/Rect"]]))
    return found


def visible(rect: list[float]) -> bool:
    return abs(rect[2] - rect[0]) > 50 and abs(rect[3] - rect[1]) > 50


def two_pages(first_fill: float, last_fill: float) -> bytes:
    out = pypdf.PdfWriter()
    for fill in (first_fill, last_fill):
        out.append(pypdf.PdfReader(io.BytesIO(factories.lesson_plan_pdf("Trang đầy", pages=1, fill=fill))))
    buf = io.BytesIO()
    out.write(buf)
    return buf.getvalue()


def test_full_pages_get_an_added_signature_page_and_the_principal_is_told(
    client: TestClient, world: World, pki: TestPKI, tmp_path: Path
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    full = factories.lesson_plan_pdf("Kế hoạch dày đặc", pages=2, fill=1.0)
    record = upload_plan(client, lan, "Kế hoạch dày đặc", content=full)
    done = signed_batch(client, pki, [record["id"]], level="B-B")
    (item,) = done["items"]
    assert item["stamp_place"] == "added_page"
    signed = content(client, hoa, record["id"], 2)
    assert signed.startswith(full)  # the teacher's bytes untouched: the page comes in the signing revision
    pages = pypdf.PdfReader(io.BytesIO(signed)).pages
    assert len(pages) == 3 and "TRANG KÝ SỐ" in pages[2].extract_text()
    ((page, rect),) = stamps(signed)
    assert page == 2 and visible(rect)
    path = tmp_path / "full.pdf"
    path.write_bytes(signed)
    assert "Signature is Valid." in pdfsig(path, nss_db(tmp_path, pki))
    report = client.get(f"/api/v1/records/{record['id']}/signatures", headers=hoa).json()
    assert report["all_valid"] and not report["signatures"][0]["modified_after_signing"], report

    assert page_login(client, "ht.hoa").status_code == 303
    page_html = client.get(f"/duyet/{done['id']}").text
    assert "chữ ký ở trang ký thêm vào cuối tệp" in page_html
    record_text = flat(pdf_text(content(client, hoa, done["approval_record_id"], 2)))
    assert flat("Duyệt, đã ký số (chữ ký ở trang ký thêm vào cuối tệp)") in record_text


def test_first_page_fallback_uses_its_blank_room(
    client: TestClient, world: World, pki: TestPKI, settings: Settings
) -> None:
    client.app.state.hoso.settings = settings.model_copy(update={"stamp_fallback": "first-page"})
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    pdf = two_pages(first_fill=0.3, last_fill=1.0)
    record = upload_plan(client, lan, "Trang cuối đầy", content=pdf)
    done = signed_batch(client, pki, [record["id"]], level="B-B")
    assert done["items"][0]["stamp_place"] == "first_page"
    signed = content(client, hoa, record["id"], 2)
    assert len(pypdf.PdfReader(io.BytesIO(signed)).pages) == 2
    ((page, rect),) = stamps(signed)
    assert page == 0 and visible(rect)


def test_a_full_document_signed_before_gets_no_added_page_and_says_so(
    client: TestClient, world: World, pki: TestPKI
) -> None:
    import asyncio

    from signing import keys, pades

    other = keys.from_pkcs12(pki.pkcs12("other_school"), b"mat-khau-p12")
    setup = pades.PadesSetup.build(other.signer, "B-B", None, "last", None, None, reason="Tổ trưởng ký")
    full = factories.lesson_plan_pdf("Tổ trưởng đã ký", pages=1, fill=1.0)
    presigned = asyncio.run(pades.sign(setup, full, "TO_TRUONG")).pdf
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    record = upload_plan(client, lan, "Tổ trưởng đã ký", content=presigned)
    done = signed_batch(client, pki, [record["id"]], level="B-B")
    assert done["items"][0]["stamp_place"] == "invisible"
    signed = content(client, hoa, record["id"], 2)
    assert len(pypdf.PdfReader(io.BytesIO(signed)).pages) == 1
    report = client.get(f"/api/v1/records/{record['id']}/signatures", headers=hoa).json()
    first, ours = report["signatures"]
    assert first["intact"] and not first["modified_after_signing"] and ours["summary_vi"] == "Chữ ký hợp lệ"
    assert page_login(client, "ht.hoa").status_code == 303
    assert "chữ ký số không hiển thị" in client.get(f"/duyet/{done['id']}").text


def test_the_setting_takes_only_the_two_fallbacks(settings: Settings, session: Session) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings(data_dir=settings.data_dir, stamp_fallback="invisible")
    assert Settings(data_dir=settings.data_dir).stamp_fallback == "added-page"


def test_sign_month_says_which_plans_got_an_added_signature_page(
    client: TestClient, world: World, pki: TestPKI, settings: Settings
) -> None:
    from tests.api.test_cli import hoso, hoso_env
    from tests.signing.test_sign_cli import sign_month

    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    full = upload_plan(client, lan, "Kế hoạch kín trang", content=factories.lesson_plan_pdf(pages=1, fill=1.0))
    roomy = upload_plan(client, lan, "Kế hoạch còn chỗ")
    batch_id = {submit(client, lan, r["id"])["batch_id"] for r in (full, roomy)}.pop()
    approve_all(client, hoa, batch_id)
    env = hoso_env(settings, HOSO_PKCS12_PASSWORD="mat-khau-p12")
    done = hoso(settings, *sign_month(pki.pkcs12_file("principal")), "--level", "B-B", env=env)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert f"{full['id']} Kế hoạch kín trang: tệp không còn chỗ trống: chữ ký ở trang ký thêm" in said
    assert roomy["id"] not in said


@pytest.fixture
def blank_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (the migrations run on it step by step), SQLite or PostgreSQL."""
    from sqlalchemy import text

    from archive.db import make_engine
    from tests.conftest import PG_URL

    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"hoso_upgrade_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_an_installed_archive_gets_the_recording_policy_unless_someone_changed_it(blank_database: str) -> None:
    """The tables as revision 0009 left them, read and written through reflection: the ORM models
    describe the newest schema (columns later revisions add), which a 0009 database lacks."""
    from alembic import command
    from sqlalchemy import MetaData, Table, insert, select, update

    import migrations as migrate
    from archive import seed
    from archive.db import make_engine

    migrate.upgrade(blank_database, "0009")
    engine = make_engine(blank_database)

    def record_types() -> Table:
        return Table("record_types", MetaData(), autoload_with=engine)

    def recording_policy(cadence: str | None = None, roles: list[str] | None = None) -> tuple[str | None, list[str]]:
        table = record_types()
        with engine.begin() as conn:
            if roles is not None:
                conn.execute(
                    update(table)
                    .where(table.c.code == "lesson_recording")
                    .values(signing_cadence=cadence, signer_roles=roles)
                )
            row = conn.execute(
                select(table.c.signing_cadence, table.c.signer_roles).where(table.c.code == "lesson_recording")
            ).one()
        return row.signing_cadence, list(row.signer_roles)

    table = record_types()
    with engine.begin() as conn:  # the schedule as an archive installed at 0009 holds it
        for row in seed.schedule_rows():
            permanent = bool(row.get("retention_permanent", False))
            values = {
                "code": row["code"],
                "name_vi": row["name_vi"],
                "name_en": row["name_en"],
                "retention_permanent": permanent,
                "retention_years": None if permanent else int(row["retention_years"]),
                "retention_basis": row["retention_basis"],
                "retention_confirmed": False,
                "signing_cadence": row.get("signing_cadence"),
                "signer_roles": list(row.get("signer_roles") or []),
                "allowed_media_types": list(row["media"]),
                "legal_basis": row.get("legal_basis", ""),
            }
            conn.execute(insert(table).values({k: v for k, v in values.items() if k in table.c}))
    recording_policy(None, [])  # as the schedule shipped it before 0011
    engine.dispose()
    migrate.upgrade(blank_database)
    assert recording_policy() == ("monthly", ["principal", "vice_principal"])

    command.downgrade(migrate.alembic_config(blank_database), "0009")
    assert recording_policy() == (None, [])
    recording_policy("yearly", ["principal"])  # the school decided otherwise
    migrate.upgrade(blank_database)
    assert recording_policy() == ("yearly", ["principal"])
    engine.dispose()


def test_the_key_on_the_pc_gets_the_same_added_page_and_detached_recording(
    client: TestClient,
    world: World,
    pki: TestPKI,
    tokens,  # type: ignore[no-untyped-def]
) -> None:
    from signing import token
    from signing.client import TokenDigestSigner
    from tests.signing.test_client_side_signing import complete, prepare, signed_by

    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    full = factories.lesson_plan_pdf("Kín trang", pages=1, fill=1.0)
    plan = upload_plan(client, lan, "Kín trang", content=full)
    recording = upload_recording(client, lan, "Tiết dạy ký trên máy", factories.mp4_bytes(256 * 1024))
    batch_id = {submit(client, lan, r["id"])["batch_id"] for r in (plan, recording)}.pop()
    approve_all(client, hoa, batch_id)
    tok = tokens["principal"]
    placed = []
    with TokenDigestSigner(token.TokenSpec(tok.module, tok.label), tok.pin) as signer:
        for _round in range(2):  # the items, then the approval record
            items = prepare(client, hoa, batch_id, signer, level="B-B").json()["items"]
            completed = complete(client, hoa, batch_id, signed_by(signer, items))
            assert completed.status_code == 200, completed.text
            placed += completed.json()["placed"]
    assert [(p["record_id"], p["stamp_place"]) for p in placed] == [(plan["id"], "added_page")]  # what the PC prints
    done = client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()
    assert done["state"] == "signed", done
    places = {i["record_id"]: i["stamp_place"] for i in done["items"]}
    assert places == {plan["id"]: "added_page", recording["id"]: "detached"}
    signed = content(client, hoa, plan["id"], 2)
    assert signed.startswith(full) and len(pypdf.PdfReader(io.BytesIO(signed)).pages) == 2
    ((page, rect),) = stamps(signed)
    assert page == 1 and visible(rect)
    for record in (plan, recording):
        assert client.get(f"/api/v1/records/{record['id']}/signatures", headers=hoa).json()["all_valid"]


def test_a_tiny_full_page_gets_an_a4_signature_page_with_the_stamp_inside(pki: TestPKI) -> None:
    import asyncio
    from datetime import UTC, datetime

    from reportlab.pdfgen import canvas

    from signing import keys, pades, stamp
    from signing.models import StampPlace

    buf = io.BytesIO()
    label = canvas.Canvas(buf, pagesize=(150, 100))
    for y in range(0, 100, 6):
        label.drawString(0, y, "█" * 40)
    label.showPage()
    label.save()
    key = keys.from_pkcs12(pki.pkcs12("principal"), b"mat-khau-p12")
    drawn = stamp.render(title="HIỆU TRƯỞNG", name="Nguyễn Thị Hoa", when=datetime.now(UTC))
    setup = pades.PadesSetup.build(key.signer, "B-B", drawn, "last", None, None, reason="Đã duyệt")
    signed = asyncio.run(pades.sign(setup, buf.getvalue(), "HOSO_DUYET_NHAN"))
    assert signed.place == StampPlace.added_page and signed.page_index == 1
    added = pypdf.PdfReader(io.BytesIO(signed.pdf)).pages[1]
    width, height = float(added.mediabox.width), float(added.mediabox.height)
    assert (round(width), round(height)) == (595, 842)
    ((page, rect),) = stamps(signed.pdf)
    assert page == 1 and visible(rect) and min(rect) >= 0 and rect[2] <= width and rect[3] <= height
