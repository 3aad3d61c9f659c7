"""Upload, list, version and download records through the HTTP API; and every bad input refused."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.models import AuditEvent, Blob, Record, Version
from archive.storage import make_store
from flows.settings import Settings
from tests import factories
from tests.factories import World, login, meta, pdf_bytes


def upload(client: TestClient, headers: dict[str, str], metadata: object, content: bytes, filename: str = "kh.pdf"):  # type: ignore[no-untyped-def]
    body = metadata if isinstance(metadata, str) else json.dumps(metadata)
    return client.post(
        "/api/v1/records", headers=headers, files={"metadata": (None, body), "file": (filename, content)}
    )


def counts(session: Session) -> tuple[int, int, int]:
    session.commit()  # end the snapshot: see what the app committed
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Record)) or 0,
        session.scalar(select(func.count()).select_from(Version)) or 0,
        session.scalar(select(func.count()).select_from(Blob)) or 0,
    )


def stored_keys(settings: Settings) -> list[str]:
    store = make_store(settings)
    return list(store.list("blobs/")) + list(store.list("records/"))


def test_teacher_uploads_and_gets_it_back_byte_for_byte(client: TestClient, world: World, session: Session) -> None:
    headers = login(client, "gv.lan")
    data = pdf_bytes("Phan so", pad=150_000)
    response = upload(client, headers, meta(), data, "Kế hoạch bài dạy tuần 5.pdf")
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["title"] == "Kế hoạch bài dạy Toán lớp 5 — Phân số"
    assert record["author"] == "gv.lan" and record["current_version"] == 1 and record["status"] == "draft"

    got = client.get(f"/api/v1/records/{record['id']}/content", headers=headers)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert "filename*=UTF-8''K%E1%BA%BF" in got.headers["content-disposition"]

    versions = client.get(f"/api/v1/records/{record['id']}/versions", headers=headers).json()
    assert versions[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert versions[0]["original_filename"] == "Kế hoạch bài dạy tuần 5.pdf"

    trail = client.get(f"/api/v1/records/{record['id']}/audit", headers=headers).json()
    assert [e["action"] for e in trail] == ["record.created", "record.downloaded"]


def test_range_requests(client: TestClient, world: World) -> None:
    headers = login(client, "gv.lan")
    data = factories.mp4_bytes(100_000)
    rid = upload(client, headers, meta(record_type="lesson_recording"), data, "tiet-day.mp4").json()["id"]
    url = f"/api/v1/records/{rid}/content"
    part = client.get(url, headers={**headers, "Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == data[1000:2000]
    assert part.headers["content-range"] == "bytes 1000-1999/100000"
    assert client.get(url, headers={**headers, "Range": "bytes=-10"}).content == data[-10:]
    assert client.get(url, headers={**headers, "Range": "bytes=99990-"}).content == data[99990:]
    bad = client.get(url, headers={**headers, "Range": "bytes=200000-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == "bytes */100000"
    stale = client.get(url, headers={**headers, "Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data


def test_identical_bytes_are_stored_once(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    data = pdf_bytes("same")
    assert upload(client, login(client, "gv.lan"), meta(title="A"), data).status_code == 201
    assert upload(client, login(client, "gv.minh"), meta(title="B"), data).status_code == 201
    assert counts(session) == (2, 2, 1)
    assert len([k for k in stored_keys(settings) if k.startswith("blobs/")]) == 1


def test_new_version_is_immutable_history(client: TestClient, world: World, session: Session) -> None:
    headers = login(client, "gv.lan")
    rid = upload(client, headers, meta(), pdf_bytes("v1")).json()["id"]
    v2 = client.post(
        f"/api/v1/records/{rid}/versions",
        headers=headers,
        files={"metadata": (None, json.dumps({"title": "Bản sửa"})), "file": ("kh-v2.pdf", pdf_bytes("v2"))},
    )
    assert v2.status_code == 201, v2.text
    assert v2.json()["number"] == 2
    record = client.get(f"/api/v1/records/{rid}", headers=headers).json()
    assert record["title"] == "Bản sửa" and record["current_version"] == 2
    assert client.get(f"/api/v1/records/{rid}/versions/1/content", headers=headers).content == pdf_bytes("v1")
    assert client.get(f"/api/v1/records/{rid}/content", headers=headers).content == pdf_bytes("v2")
    same = client.post(f"/api/v1/records/{rid}/versions", headers=headers, files={"file": ("x.pdf", pdf_bytes("v2"))})
    assert same.status_code == 409


def test_list_filters_and_pagination(client: TestClient, world: World) -> None:
    lan, minh = login(client, "gv.lan"), login(client, "gv.minh")
    for month in (9, 10, 11):
        assert upload(client, lan, meta(month=month, title=f"T{month}"), pdf_bytes(f"lan{month}")).status_code == 201
    assert upload(client, minh, meta(subject="Tiếng Việt", grade=4), pdf_bytes("minh")).status_code == 201
    assert (
        upload(
            client,
            minh,
            meta(record_type="gradebook", title="Sổ điểm", month=None, subject=None),
            factories.csv_bytes(),
            "so.csv",
        ).status_code
        == 201
    )

    def listing(**params: object) -> dict:  # type: ignore[type-arg]
        response = client.get("/api/v1/records", headers=lan, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    assert listing()["total"] == 5
    assert listing(month=10)["total"] == 2
    assert listing(author="gv.lan")["total"] == 3
    assert listing(subject="Tiếng Việt", grade=4)["total"] == 1
    assert listing(record_type="gradebook")["items"][0]["title"] == "Sổ điểm"
    assert listing(school_year="2025-2026", status="draft")["total"] == 5
    page = listing(page=2, page_size=2)
    assert page["total"] == 5 and len(page["items"]) == 2
    assert client.get("/api/v1/records", headers=lan, params={"month": 13}).status_code == 422
    assert client.get("/api/v1/records", headers=lan, params={"school_year": "2025-2023"}).status_code == 422


# -- bad input: each refused with a clear message, nothing stored --------------------------------


@pytest.mark.parametrize(
    ("metadata", "content", "filename", "status", "needle"),
    [
        (meta(), factories.EXE, "giao-an.pdf", 415, "không nhận dạng được"),
        (meta(), factories.docx_bytes()[:40], "cut.docx", 415, "Kế hoạch bài dạy"),
        (meta(), factories.mp4_bytes(), "video.pdf", 415, "MP4"),
        (meta(), b"", "empty.pdf", 422, "Tệp rỗng"),
        (meta(), pdf_bytes(), "../../etc/passwd", 422, "đường dẫn"),
        (meta(), pdf_bytes(), "bad\x07name.pdf", 422, "điều khiển"),
        (meta(school_code="KHONGCO"), pdf_bytes(), "a.pdf", 404, "KHONGCO"),
        (meta(record_type="bogus"), pdf_bytes(), "a.pdf", 404, "bogus"),
        (meta(month=13), pdf_bytes(), "a.pdf", 422, "month: phải nhỏ hơn hoặc bằng 12"),
        (meta(school_year="2025-2023"), pdf_bytes(), "a.pdf", 422, "school_year: năm học phải có dạng 2025-2026"),
        (meta(unexpected="x"), pdf_bytes(), "a.pdf", 422, "unexpected: trường không được phép"),
        ('{"school_code": "THA", ', pdf_bytes(), "a.pdf", 422, "JSON"),
        (meta(school_code="THB"), pdf_bytes(), "a.pdf", 403, "không có quyền"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(
    client: TestClient,
    world: World,
    session: Session,
    settings: Settings,
    metadata: object,
    content: bytes,
    filename: str,
    status: int,
    needle: str,
) -> None:
    response = upload(client, login(client, "gv.lan"), metadata, content, filename)
    assert response.status_code == status, response.text
    body = response.json()
    assert needle in body["message"] + body["message_en"], body
    assert body["message_en"]
    assert counts(session) == (0, 0, 0)
    assert stored_keys(settings) == []
    assert list(settings.tmp_dir.iterdir()) == []


def test_oversized_upload_stops_at_the_limit(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    settings.max_upload_bytes = 100_000  # the app holds this Settings object
    response = upload(client, login(client, "gv.lan"), meta(), pdf_bytes(pad=200_000))
    assert response.status_code == 413, response.text
    assert "giới hạn" in response.json()["message"]
    assert counts(session) == (0, 0, 0) and stored_keys(settings) == []
    assert list(settings.tmp_dir.iterdir()) == []


def test_missing_parts_and_wrong_content_type(client: TestClient, world: World) -> None:
    headers = login(client, "gv.lan")
    only_meta = client.post("/api/v1/records", headers=headers, files={"metadata": (None, json.dumps(meta()))})
    assert only_meta.status_code == 422 and "'file'" in only_meta.json()["message"]
    only_file = client.post("/api/v1/records", headers=headers, files={"file": ("a.pdf", pdf_bytes())})
    assert only_file.status_code == 422 and "'metadata'" in only_file.json()["message"]
    as_json = client.post("/api/v1/records", headers=headers, json=meta())
    assert as_json.status_code == 422 and "multipart" in as_json.json()["message"]


def test_file_part_before_metadata_is_still_checked(client: TestClient, world: World, session: Session) -> None:
    headers = login(client, "gv.lan")
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'.encode()
        + pdf_bytes()
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'.encode()
        + json.dumps(meta(month=0)).encode()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        "/api/v1/records",
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body,
    )
    assert response.status_code == 422 and "month" in response.json()["message_en"]
    assert counts(session) == (0, 0, 0)


def test_truncated_multipart_body_is_refused(client: TestClient, world: World, session: Session) -> None:
    headers = login(client, "gv.lan")
    body = (
        b'--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        + json.dumps(meta()).encode()
        + b'\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
        + pdf_bytes()[:200]
    )
    response = client.post(
        "/api/v1/records", headers={**headers, "Content-Type": "multipart/form-data; boundary=B"}, content=body
    )
    assert response.status_code == 400 and "gián đoạn" in response.json()["message"]
    assert counts(session) == (0, 0, 0)


def test_sql_looking_text_is_stored_as_text(client: TestClient, world: World, session: Session) -> None:
    headers = login(client, "gv.lan")
    title = "Robert'); DROP TABLE records;-- và “ngoặc kép”"
    response = upload(client, headers, meta(title=title, subject="' OR 1=1 --"), pdf_bytes())
    assert response.status_code == 201
    assert client.get(f"/api/v1/records/{response.json()['id']}", headers=headers).json()["title"] == title
    assert client.get("/api/v1/records", headers=headers, params={"subject": "' OR 1=1 --"}).json()["total"] == 1
    assert client.get("/api/v1/records", headers=headers, params={"subject": "x' OR '1'='1"}).json()["total"] == 0
    assert counts(session)[0] == 1


def test_every_event_is_audited(client: TestClient, world: World, session: Session) -> None:
    headers = login(client, "gv.lan")
    upload(client, headers, meta(), pdf_bytes())
    session.commit()
    actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions[-2:] == ["auth.login", "record.created"]


def test_two_files_or_an_oversized_field_are_refused(client: TestClient, world: World, session: Session) -> None:
    headers = login(client, "gv.lan")
    two = client.post(
        "/api/v1/records",
        headers=headers,
        files=[
            ("metadata", (None, json.dumps(meta()))),
            ("file", ("a.pdf", pdf_bytes("a"))),
            ("file", ("b.pdf", pdf_bytes("b"))),
        ],
    )
    assert two.status_code == 415 and "gửi mỗi lần một tệp" in two.json()["message"]  # only photos go together
    huge = client.post(
        "/api/v1/records",
        headers=headers,
        files={"metadata": (None, json.dumps(meta(title="x" * 70_000))), "file": ("a.pdf", pdf_bytes())},
    )
    assert huge.status_code == 422 and "quá dài" in huge.json()["message"]
    assert counts(session) == (0, 0, 0)
