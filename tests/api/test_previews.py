"""A PDF version's pages as PNG: access like a download, bounded width and page, no preview for a non-PDF."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from archive import preview
from flows.settings import Settings
from tests import factories
from tests.api.test_records_api import upload
from tests.factories import World, login, meta
from tests.search.test_inspector_grants import inspection  # noqa: F401  (an inspector, records and a grant)


def pages_url(record_id: str, number: int = 1) -> str:
    return f"/api/v1/records/{record_id}/versions/{number}/pages"


def test_the_pages_of_a_plan_as_images_cached_and_audited_once_per_look(client: TestClient, world: World) -> None:
    lan = login(client, "gv.lan")
    record = upload(client, lan, meta(), factories.lesson_plan_pdf("KHBD Toán — Phân số", pages=2)).json()
    counted = client.get(pages_url(record["id"]), headers=lan)
    assert counted.status_code == 200 and counted.json() == {"record_id": record["id"], "version": 1, "pages": 2}

    page = client.get(f"{pages_url(record['id'])}/1.png", headers=lan)
    assert page.status_code == 200 and page.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(page.content)).size[0] == 900  # the default width
    assert "private" in page.headers["cache-control"] and page.headers["etag"]
    again = client.get(f"{pages_url(record['id'])}/1.png", headers={**lan, "If-None-Match": page.headers["etag"]})
    assert again.status_code == 304 and not again.content  # revalidated, nothing rendered
    thumb = client.get(f"{pages_url(record['id'])}/1.png", params={"width": 120}, headers=lan)
    image = Image.open(io.BytesIO(thumb.content))
    assert image.size[0] == 120 and image.size[1] == round(120 * 842 / 595)  # an A4 page's proportions
    assert client.get(f"{pages_url(record['id'])}/2.png", headers=lan).status_code == 200

    trail = client.get(f"/api/v1/records/{record['id']}/audit", headers=lan).json()
    views = [e for e in trail if e["action"] == "record.downloaded"]
    assert len(views) == 1, views  # page 1 in the viewer; the thumbnail, page 2 and the 304 are not new looks


def test_a_page_the_document_lacks_a_bad_number_and_a_huge_width_are_refused(client: TestClient, world: World) -> None:
    lan = login(client, "gv.lan")
    record = upload(client, lan, meta(), factories.lesson_plan_pdf(pages=2)).json()
    beyond = client.get(f"{pages_url(record['id'])}/3.png", headers=lan)
    assert beyond.status_code == 404 and "chỉ có 2 trang" in beyond.json()["message"]
    for bad in ("0", "-1", str(preview.MAX_PAGE + 1)):
        refused = client.get(f"{pages_url(record['id'])}/{bad}.png", headers=lan)
        assert refused.status_code == 422, (bad, refused.text)
    assert "Số trang" in client.get(f"{pages_url(record['id'])}/0.png", headers=lan).json()["message"]
    assert client.get(f"{pages_url(record['id'])}/mot.png", headers=lan).status_code == 422
    for width in (preview.MAX_WIDTH + 1, 100_000, preview.MIN_WIDTH - 1, 0):
        refused = client.get(f"{pages_url(record['id'])}/1.png", params={"width": width}, headers=lan)
        assert refused.status_code == 422 and "Độ rộng" in refused.json()["message"], (width, refused.text)
    assert client.get(f"{pages_url(record['id'], 2)}/1.png", headers=lan).status_code == 404  # no version 2


def test_only_readers_of_the_record_see_its_pages(client: TestClient, world: World) -> None:
    lan = login(client, "gv.lan")
    record = upload(client, lan, meta(), factories.lesson_plan_pdf()).json()
    url = f"{pages_url(record['id'])}/1.png"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=login(client, "gv.binh")).status_code in (403, 404)  # another school's teacher
    assert client.get(pages_url(record["id"]), headers=login(client, "gv.binh")).status_code in (403, 404)
    assert client.get(url, headers=login(client, "ht.hoa")).status_code == 200  # her school's principal


def test_a_word_file_has_no_preview_and_the_newest_pdf_version_is_the_one_shown(
    client: TestClient, world: World, session: Session
) -> None:
    lan = login(client, "gv.lan")
    record = upload(client, lan, meta(), factories.docx_bytes(), "ke-hoach.docx").json()
    refused = client.get(f"{pages_url(record['id'])}/1.png", headers=lan)
    assert refused.status_code == 415 and "Chưa có bản xem trước" in refused.json()["message"]
    assert client.get(pages_url(record["id"]), headers=lan).status_code == 415
    session.commit()
    assert preview.newest_pdf(session, [record["id"]]) == {}

    added = client.post(
        f"/api/v1/records/{record['id']}/versions", headers=lan, files={"file": ("kh.pdf", factories.lesson_plan_pdf())}
    )
    assert added.status_code == 201, added.text
    added = client.post(
        f"/api/v1/records/{record['id']}/versions",
        headers=lan,
        files={"file": ("kh-sua.docx", factories.docx_with_body("Bản sửa"))},
    )
    assert added.status_code == 201, added.text
    session.commit()
    assert preview.newest_pdf(session, [record["id"], "no-such-record"]) == {record["id"]: 2}


def test_an_inspectors_thumbnails_are_no_looks_and_the_viewer_is_one(
    client: TestClient,
    inspection: dict[str, str],  # noqa: F811  (the fixture)
    session: Session,
) -> None:
    """Search results show first pages: seeing a result listed is not reading it (the search is audited)."""
    from sqlalchemy import func, select

    from archive.models import AuditEvent

    def viewed() -> int:
        session.commit()
        query = select(func.count()).where(AuditEvent.action == "inspector.viewed", AuditEvent.record_id == plan)
        return int(session.scalar(query) or 0)

    nam, plan = login(client, "tt.nam"), inspection["plan"]
    assert client.get(f"{pages_url(plan)}/1.png", params={"width": 120}, headers=nam).status_code == 200
    assert viewed() == 0
    assert client.get(f"{pages_url(plan)}/1.png", headers=nam).status_code == 200
    assert viewed() == 1
    other = client.get(f"{pages_url(inspection['other_school'])}/1.png", params={"width": 120}, headers=nam)
    assert other.status_code == 403  # a thumbnail is still within the grant or refused


def test_pages_come_from_one_verified_copy_and_a_changed_byte_is_never_shown(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    from archive.storage import make_store
    from tests.retention.test_retention import blob_of, corrupt

    lan = login(client, "gv.lan")
    store = make_store(settings)
    first = upload(client, lan, meta(title="Một"), factories.lesson_plan_pdf("Một", pages=3)).json()
    assert client.get(f"{pages_url(first['id'])}/1.png", headers=lan).status_code == 200
    copies = settings.tmp_dir / "previews"
    assert [p.name for p in copies.glob("*.pdf")] == [f"{blob_of(session, first['id'])}.pdf"]
    # the store's bytes change after the first look: the pages still come from the copy verified then
    corrupt(settings, store, blob_of(session, first["id"]))
    assert client.get(f"{pages_url(first['id'])}/3.png", headers=lan).status_code == 200

    # changed before anyone looked: no page is shown and nothing is kept
    second = upload(client, lan, meta(title="Hai"), factories.lesson_plan_pdf("Hai")).json()
    corrupt(settings, store, blob_of(session, second["id"]))
    refused = client.get(f"{pages_url(second['id'])}/1.png", headers=lan)
    assert refused.status_code >= 400 and "băm" in refused.json()["message"], refused.text
    assert len(list(copies.glob("*.pdf"))) == 1 and not list(copies.glob(".filling-*"))


def test_the_copies_stay_within_their_budget_least_recently_used_first(tmp_path: Path) -> None:
    import os

    from archive import preview_copies

    def made(sha: str, size: int, used: float) -> Path:
        path = preview_copies.copy_of(tmp_path, sha, lambda: iter([b"x" * size]), budget=10**9)
        os.utime(path, (used, used))
        return path

    old, middle, new = made("a" * 64, 400, 1000), made("b" * 64, 400, 2000), made("c" * 64, 400, 3000)
    assert preview_copies.copy_of(tmp_path, "a" * 64, lambda: iter([b"never fetched"])) == old  # now the newest
    assert preview_copies.evict(old.parent, budget=900) == 1
    assert old.exists() and not middle.exists() and new.exists()
    assert old.read_bytes() == b"x" * 400 and old.stat().st_mode & 0o777 == 0o400
