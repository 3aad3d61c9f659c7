"""Several phone photos of one paper document become one PDF, in order, then its PDF/A (issue #16 item 1).

The photos are the small Vietnamese pages of test_ocr.py; img2pdf and OCRmyPDF are the real tools.
Only the first test runs OCR (one job, three small pages); the others are refusals, which store
nothing and so never reach a job.
"""

from __future__ import annotations

import hashlib
import io
import json

import httpx
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import photo_set
from archive.models import AuditEvent, Blob, Record, Rendition, RenditionState
from flows.settings import Settings
from tests import factories
from tests.factories import World, login
from tests.flows.test_ocr import encoded, page_image, pdfa_id, run_one
from tests.search.test_search_api import find, index_now


def post_photos(client: TestClient, headers: dict[str, str], photos: list[tuple[str, bytes]]) -> httpx.Response:
    body = json.dumps(factories.meta(title="Kế hoạch bài dạy viết tay", record_type="lesson_plan"))
    files = [("metadata", (None, body.encode(), None)), *[("file", (n, d, None)) for n, d in photos]]
    return client.post("/api/v1/records", headers=headers, files=files)


def counts(session: Session) -> tuple[int | None, ...]:
    session.commit()
    return tuple(session.scalar(select(func.count()).select_from(t)) for t in (Record, Blob, AuditEvent))


def transparent_png() -> bytes:
    rgba = page_image(300).convert("RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 200))
    return encoded(rgba, "PNG", 300)


def test_three_phone_photos_become_one_pdf_in_order_then_a_searchable_pdfa(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    lan = login(client, "gv.lan")
    first, second = encoded(page_image(300), "JPEG", 300), encoded(page_image(240), "JPEG", None)
    photos = [("trang-1.jpg", first), ("trang-2.jpg", second), ("trang-3.png", transparent_png())]
    answer = post_photos(client, lan, photos)
    assert answer.status_code == 201, answer.text
    record_id = answer.json()["id"]
    # the 960-pixel strip fitted to a landscape A4's 11.7 inches is 82 dpi of paper, the lowest of
    # the three: said, and stored (lesson plans warn)
    assert [w["message"] for w in answer.json()["scan_warnings"]] == [
        "ảnh quét 82 dpi, dưới mức 200 dpi của Thông tư 05/2025"
    ]
    original = client.get(f"/api/v1/records/{record_id}/versions/1/content", headers=lan)
    assert original.headers["content-type"] == "application/pdf"
    assert "trang-1.pdf" in original.headers["content-disposition"]
    pages = PdfReader(io.BytesIO(original.content)).pages
    assert len(pages) == 3
    embedded = [next(iter(p["/Resources"]["/XObject"].values())).get_object() for p in pages]
    assert [e["/Filter"] for e in embedded] == ["/DCTDecode", "/DCTDecode", "/FlateDecode"]
    assert [e.get_data() for e in embedded[:2]] == [first, second]  # the JPEGs, byte for byte, in order
    assert (embedded[2]["/Width"], embedded[2]["/Height"]) == Image.open(io.BytesIO(photos[2][1])).size
    for page in pages:  # A4, turned to the photo (landscape strips)
        assert sorted(round(float(v)) for v in page.mediabox[2:]) == [595, 842]
    session.commit()
    created = session.scalar(
        select(AuditEvent).where(AuditEvent.record_id == record_id, AuditEvent.action == "record.created")
    )
    assert created is not None
    assert created.details["photos"] == [
        {"filename": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in photos
    ]

    assert run_one(client) == 1  # the OCR job: one PDF/A for the three pages
    session.commit()
    rendition = session.scalar(select(Rendition).where(Rendition.record_id == record_id))
    assert rendition is not None and rendition.state == RenditionState.done, rendition and rendition.error
    made = client.get(f"/api/v1/records/{record_id}/versions/{rendition.version_number}/content", headers=lan)
    assert pdfa_id(made.content) == ("2", "B") and len(PdfReader(io.BytesIO(made.content)).pages) == 3
    assert client.get(f"/api/v1/records/{record_id}/versions/1/content", headers=lan).content == original.content
    index_now(client)
    for q in ("Nguyễn Trãi", "nguyen trai"):
        assert [h["id"] for h in find(client, lan, q)["hits"]] == [record_id], q


def test_a_set_with_a_file_that_is_no_photo_or_a_damaged_photo_is_refused_naming_it(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    lan = login(client, "gv.lan")
    photo = encoded(page_image(200), "JPEG", 200)
    before = counts(session)
    pdf = post_photos(client, lan, [("a.jpg", photo), ("ke-hoach.pdf", factories.lesson_plan_pdf("Toán"))])
    assert pdf.status_code == 415, pdf.text
    assert "Ảnh thứ 2 ('ke-hoach.pdf') là PDF" in pdf.json()["message"]
    damaged = post_photos(client, lan, [("a.jpg", photo), ("b.jpg", photo), ("c.jpg", b"\xff\xd8\xff\xe0" + b"x" * 64)])
    assert damaged.status_code in (415, 422), damaged.text
    assert "'c.jpg'" in damaged.json()["message"]
    assert counts(session) == before  # nothing stored, nothing audited
    assert not list(settings.tmp_dir.glob("*.upload")) and not list(settings.tmp_dir.glob("photos-*"))


def test_too_many_photos_or_too_many_bytes_together_are_refused_before_anything_is_stored(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    lan = login(client, "gv.lan")
    tiny = encoded(Image.new("RGB", (40, 40), "white"), "JPEG", 200)
    before = counts(session)
    many = post_photos(client, lan, [(f"p{n}.jpg", tiny) for n in range(photo_set.MAX_PHOTOS + 1)])
    assert many.status_code == 422 and f"tối đa {photo_set.MAX_PHOTOS} tệp" in many.json()["message"], many.text
    state = client.app.state.hoso  # type: ignore[attr-defined]
    state.settings = settings.model_copy(update={"max_upload_bytes": len(tiny) * 3 - 1})
    big = post_photos(client, lan, [("a.jpg", tiny), ("b.jpg", tiny), ("c.jpg", tiny)])
    assert big.status_code == 413, big.text  # each photo is under the limit; the three together are not
    state.settings = settings
    photo_set.MAX_SET_BYTES, cap = len(tiny) * 2, photo_set.MAX_SET_BYTES  # img2pdf's memory, bounded apart
    try:
        capped = post_photos(client, lan, [("a.jpg", tiny), ("b.jpg", tiny), ("c.jpg", tiny)])
    finally:
        photo_set.MAX_SET_BYTES = cap
    assert capped.status_code == 413, capped.text
    assert counts(session) == before
    assert not list(settings.tmp_dir.glob("*.upload"))


def test_a_new_version_is_still_one_file(client: TestClient, world: World, session: Session) -> None:
    lan = login(client, "gv.lan")
    photo = encoded(page_image(200), "JPEG", 200)
    made = post_photos(client, lan, [("a.jpg", photo), ("b.jpg", photo)])
    assert made.status_code == 201, made.text
    again = client.post(
        f"/api/v1/records/{made.json()['id']}/versions",
        headers=lan,
        files=[("file", ("a.jpg", photo, None)), ("file", ("b.jpg", photo, None))],
    )
    assert again.status_code == 422 and again.json()["message"] == "Chỉ gửi một tệp mỗi lần."
