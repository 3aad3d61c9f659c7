"""Only real documents enter (issue #13 §4): each look-alike refused over the API, and nothing stored.

A PDF is parsed (not only its first bytes sniffed), encrypted and scripted PDFs are refused, a DOCX
or XLSX that inflates like a bomb is refused, and school years and titles are what they seem.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from archive import importer, ooxmlcheck
from archive.models import Role
from archive.storage import make_store
from flows.settings import Settings
from tests import factories
from tests.api.test_records_api import counts, stored_keys, upload
from tests.factories import World, login, meta, person

ARABIC_INDIC_YEAR = "\u0662\u0660\u0662\u0665-\u0662\u0660\u0662\u0666"  # ٢٠٢٥-٢٠٢٦: int() reads 2025-2026


def lying_docx() -> bytes:
    """A bomb whose ZIP directory claims a small document.xml: the ratio looks fine, the inflate does not."""
    data = bytearray(factories.docx_bomb())
    name = b"word/document.xml"
    local = data.find(b"PK\x03\x04")
    while local != -1:
        if data[local + 30 : local + 30 + len(name)] == name:
            struct.pack_into("<I", data, local + 22, 1000)  # uncompressed size in the local header
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        if data[central + 46 : central + 46 + len(name)] == name:
            struct.pack_into("<I", data, central + 24, 1000)  # and in the central directory
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def docm_bytes() -> bytes:
    """A macro-enabled Word file renamed .docx: it sniffs as DOCX and carries vbaProject.bin."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", "<w:document/>")
        zf.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 500)
    return buf.getvalue()


def assert_nothing_stored(client: TestClient, session: Session, settings: Settings) -> None:
    assert counts(session) == (0, 0, 0)
    assert stored_keys(settings) == []
    assert [p for p in settings.tmp_dir.iterdir() if p.is_file()] == []
    listing = client.get("/api/v1/records", headers=login(client, "ht.hoa")).json()
    assert listing["total"] == 0 and listing["items"] == []


PDF_DAMAGED = "không phải tệp PDF hoàn chỉnh"
RUNS_BY_ITSELF = "mã lệnh tự chạy"


@pytest.mark.parametrize(
    ("make", "filename", "record_type", "status", "needle"),
    [
        (factories.truncated_pdf, "ke-hoach.pdf", "lesson_plan", 415, PDF_DAMAGED),
        (factories.pdf_header_then_zeros, "ke-hoach.pdf", "lesson_plan", 415, PDF_DAMAGED),
        (factories.pdf_with_broken_xref, "ke-hoach.pdf", "lesson_plan", 415, PDF_DAMAGED),
        (factories.exe_with_pdf_header, "ke-hoach.pdf", "lesson_plan", 415, "không nhận dạng được"),
        (factories.html_with_pdf_line, "ke-hoach.pdf", "lesson_plan", 415, "không nhận dạng được"),
        (factories.encrypted_pdf, "ke-hoach.pdf", "lesson_plan", 415, "mật khẩu hoặc bị mã hóa"),
        (factories.pdf_with_open_action_js, "ke-hoach.pdf", "lesson_plan", 415, f"{RUNS_BY_ITSELF} (JavaScript)"),
        (factories.pdf_with_javascript_names, "ke-hoach.pdf", "lesson_plan", 415, f"{RUNS_BY_ITSELF} (JavaScript)"),
        (factories.pdf_with_page_js, "ke-hoach.pdf", "lesson_plan", 415, f"{RUNS_BY_ITSELF} (JavaScript)"),
        (factories.pdf_with_launch_link, "ke-hoach.pdf", "lesson_plan", 415, f"{RUNS_BY_ITSELF} (lệnh mở một"),
        (factories.pdf_with_xfa_form, "ke-hoach.pdf", "lesson_plan", 415, f"{RUNS_BY_ITSELF} (biểu mẫu động XFA)"),
        (factories.pdf_with_embedded_file, "ke-hoach.pdf", "lesson_plan", 415, "tệp khác đính kèm bên trong"),
        (factories.pdf_with_attachment_annotation, "ke-hoach.pdf", "lesson_plan", 415, "tệp khác đính kèm"),
        (factories.docx_bomb, "ke-hoach.docx", "lesson_plan", 413, "zip bomb"),
        (factories.xlsx_bomb, "so-diem.xlsx", "gradebook", 413, "zip bomb"),
        (lying_docx, "ke-hoach.docx", "lesson_plan", 415, "bị hỏng hoặc không hoàn chỉnh"),
        (docm_bytes, "ke-hoach.docx", "lesson_plan", 415, "macro"),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_look_alike_documents_are_refused_and_nothing_is_stored(
    client: TestClient,
    world: World,
    session: Session,
    settings: Settings,
    make: Callable[[], bytes],
    filename: str,
    record_type: str,
    status: int,
    needle: str,
) -> None:
    response = upload(client, login(client, "gv.lan"), meta(record_type=record_type), make(), filename)
    assert response.status_code == status, response.text
    body = response.json()
    assert needle in body["message"], body
    assert body["message_en"] and filename in body["message_en"]
    assert_nothing_stored(client, session, settings)


def test_the_total_unpacked_size_is_bounded(
    client: TestClient, world: World, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members each small enough to be spared the ratio rule, but together over the total cap."""
    monkeypatch.setattr(ooxmlcheck, "MAX_TOTAL", 1024 * 1024)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", "<w:document/>")
        for n in range(3):
            zf.writestr(f"word/media/image{n}.png", factories.PNG + bytes(range(256)) * 2048)
    response = upload(client, login(client, "gv.lan"), meta(), buf.getvalue(), "anh.docx")
    assert response.status_code == 413, response.text
    assert "quá giới hạn 1 MB" in response.json()["message"]
    assert_nothing_stored(client, session, settings)


def test_a_refused_pdf_over_the_resumable_upload_stores_nothing(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    lan = login(client, "gv.lan")
    data = factories.pdf_with_launch_link()
    made = client.post(
        "/api/v1/uploads", headers=lan, json={"metadata": meta(), "filename": "kh.pdf", "size": len(data)}
    )
    assert made.status_code == 201, made.text
    sent = client.patch(
        f"/api/v1/uploads/{made.json()['id']}",
        headers={**lan, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        content=data,
    )
    assert sent.status_code == 415 and "mở một chương trình" in sent.json()["message"], sent.text
    assert counts(session) == (0, 0, 0) and stored_keys(settings) == []


def test_a_real_document_of_each_kind_still_enters(client: TestClient, world: World) -> None:
    from tests.search.test_search_api import docx_plan, xlsx_gradebook

    lan = login(client, "gv.lan")
    for fields, data, name in [
        ({}, factories.lesson_plan_pdf(), "kh.pdf"),
        ({}, factories.pdf_bytes(), "kh.pdf"),
        ({}, docx_plan("Bài 1: Phân số"), "kh.docx"),
        ({"record_type": "gradebook"}, xlsx_gradebook(), "so-diem.xlsx"),
    ]:
        response = upload(client, lan, meta(**fields), data, name)
        assert response.status_code == 201, (name, response.text)


# -- text fields ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"school_year": ARABIC_INDIC_YEAR}, "school_year: năm học phải có dạng 2025-2026"),
        ({"school_year": "2025-2026\n"}, "school_year: năm học phải có dạng 2025-2026"),
        ({"school_year": "２０２５-２０２６"}, "school_year: năm học phải có dạng 2025-2026"),  # full-width digits
        ({"title": "   "}, "title: không được để trống"),
        ({"title": "\u00a0\u3000\t"}, "title: không được để trống"),  # no-break and ideographic spaces
    ],
)
def test_school_years_are_ascii_and_titles_are_not_blank(
    client: TestClient, world: World, session: Session, settings: Settings, overrides: dict[str, str], needle: str
) -> None:
    response = upload(client, login(client, "gv.lan"), meta(**overrides), factories.pdf_bytes())
    assert response.status_code == 422, response.text
    assert needle in response.json()["message"], response.json()
    assert_nothing_stored(client, session, settings)


def test_a_blank_title_is_refused_on_a_new_version_too(client: TestClient, world: World) -> None:
    lan = login(client, "gv.lan")
    record = upload(client, lan, meta(), factories.pdf_bytes("v1")).json()
    response = client.post(
        f"/api/v1/records/{record['id']}/versions",
        headers=lan,
        files={"metadata": (None, '{"title": "  "}'), "file": ("kh.pdf", factories.pdf_bytes("v2"))},
    )
    assert response.status_code == 422 and "không được để trống" in response.json()["message"], response.text


def test_every_place_a_school_year_is_typed_uses_one_validator(
    client: TestClient, world: World, session: Session
) -> None:
    """Grants, the record list's filter and the search filter refuse what the upload refuses."""
    person(session, "tt.nam", Role.inspector, None)
    hoa = login(client, "ht.hoa")
    grant = {
        "inspector": "tt.nam",
        "decision_number": "125/QĐ-PGDĐT",
        "school_codes": ["THA"],
        "school_years": [ARABIC_INDIC_YEAR],
        "expires_at": "2099-01-01T00:00:00+00:00",
    }
    refused = client.post("/api/v1/grants", headers=hoa, json=grant)
    assert refused.status_code == 422 and "năm học phải có dạng" in refused.json()["message"], refused.text
    listing = client.get("/api/v1/records", headers=hoa, params={"school_year": ARABIC_INDIC_YEAR})
    assert listing.status_code == 422 and "năm học phải có dạng" in listing.json()["message"], listing.text
    search = client.get("/api/v1/search", headers=hoa, params={"q": "toan", "school_year": ARABIC_INDIC_YEAR})
    assert search.status_code == 422 and "năm học phải có dạng" in search.json()["message"], search.text


def test_the_bulk_import_refuses_the_same(world: World, session: Session, settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "nhap"
    folder.mkdir()
    files = {
        "ok.pdf": factories.pdf_bytes("ok"),
        "nam-hoc.pdf": factories.pdf_bytes("year"),
        "trong.pdf": factories.pdf_bytes("blank"),
        "cut.pdf": factories.truncated_pdf(),
        "bom.docx": factories.docx_bomb(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    year = {"nam-hoc.pdf": ARABIC_INDIC_YEAR}
    title = {"trong.pdf": "   "}
    lines = ["file,school_code,record_type,title,school_year"]
    lines += [f"{n},THA,lesson_plan,{title.get(n, 'KHBD ' + n)},{year.get(n, '2025-2026')}" for n in files]
    (folder / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = importer.run_import(
        session, make_store(settings), folder, world.teacher, settings.tmp_dir, settings.max_upload_bytes
    )
    assert report.imported == ["ok.pdf"]
    reasons = {r.file: r.reason_vi for r in report.refused}
    assert set(reasons) == {"nam-hoc.pdf", "trong.pdf", "cut.pdf", "bom.docx"}, reasons
    assert "năm học phải có dạng" in reasons["nam-hoc.pdf"]
    assert "không được để trống" in reasons["trong.pdf"]
    assert PDF_DAMAGED in reasons["cut.pdf"] and "zip bomb" in reasons["bom.docx"]


@pytest.mark.parametrize(
    ("period", "cadence"),
    [
        (ARABIC_INDIC_YEAR, "yearly"),
        (ARABIC_INDIC_YEAR + "-HK1", "semester"),
        ("\u0662\u0660\u0662\u0666-11", "monthly"),  # ٢٠٢٦-11
        ("2026-11\n", "monthly"),
    ],
)
def test_a_signing_period_is_ascii_too(period: str, cadence: str) -> None:
    """A yearly or semester period carries a school year: it is spelled as the records' is."""
    from archive.exceptions import InvalidInput
    from signing import periods

    with pytest.raises(InvalidInput, match="malformed"):
        periods.check(period, cadence)
    assert periods.check("2025-2026", "yearly") == "2025-2026"
