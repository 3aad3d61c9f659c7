"""Retention on both stores (folder and S3 over HTTP): terms, WORM, schedule edits, holds, sweep, fixity."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from archive import calendar
from archive.models import AuditEvent, Role, Version
from archive.storage import ObjectLocked, ObjectStore, RetentionShortening, blob_key
from flows.settings import Settings
from retention.models import RecordRetention
from tests.api.test_cli import hoso, hoso_env
from tests.factories import World, lesson_plan_pdf, login, person
from tests.search.test_search_api import index_now, upload


@pytest.fixture
def archivist(session: Session, world: World) -> None:
    person(session, "lt.mai", Role.archivist, "THA")


def blob_of(session: Session, record_id: str) -> str:
    session.commit()
    return session.scalar(select(Version.blob_sha256).where(Version.record_id == record_id, Version.number == 1)) or ""


def retention_of(client: TestClient, headers: dict[str, str], record_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/records/{record_id}/retention", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_record_is_kept_for_its_term_and_its_blob_is_locked(
    client: TestClient, world: World, session: Session, store: ObjectStore
) -> None:
    lan = login(client, "gv.lan")
    record_id = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số"), school_year="2025-2026")
    info = retention_of(client, lan, record_id)
    # lesson plans: 10 years from the end of school year 2025-2026 → kept through 2036
    assert info["keep_until_year"] == 2036 and info["eligible_from"] == "2037-01-01" and not info["permanent"]
    assert "2036" in info["summary_vi"] and "01/01/2037" in info["summary_vi"]
    key = blob_key(blob_of(session, record_id))
    assert store.head(key).retain_until == datetime(2037, 1, 1, tzinfo=UTC)
    refused = client.delete(f"/api/v1/records/{record_id}", headers=login(client, "ht.hoa"))
    assert refused.status_code == 409 and "01/01/2037" in refused.json()["message"]
    with pytest.raises(ObjectLocked):
        store.delete(key)  # the storage layer refuses too
    with pytest.raises(RetentionShortening):
        store.set_retention(key, datetime(2030, 1, 1, tzinfo=UTC))
    transcript = upload(
        client, lan, "hoc-ba.pdf", lesson_plan_pdf("Học bạ"), record_type="transcript", subject=None, month=None
    )
    assert retention_of(client, lan, transcript)["permanent"] is True
    assert (
        client.delete(f"/api/v1/records/{transcript}", headers=lan)
        .json()["message"]
        .startswith("Không thể xóa: hồ sơ thuộc loại bảo quản vĩnh viễn")
    )
    assert store.head(blob_key(blob_of(session, transcript))).retain_until.year >= calendar.today().year + 99  # type: ignore[union-attr]


def test_the_schedules_keeper_lengthens_a_term_and_shortening_is_refused(
    client: TestClient, world: World, archivist: None, session: Session, store: ObjectStore
) -> None:
    """Two schools: the schedule is every school's, kept by the system administrator, not THA's archivist."""
    lan, mai, admin = login(client, "gv.lan"), login(client, "lt.mai"), login(client, "admin1")
    old = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số"), school_year="2025-2026")
    retention_of(client, lan, old)
    body = {"years": 15, "reason": "Xác nhận theo Phụ lục", "citation": "TT 08/2025/TT-BGDĐT, Phụ lục, mục 3"}
    not_hers = client.patch("/api/v1/record-types/lesson_plan/retention", headers=mai, json={**body, "years": 5})
    assert not_hers.status_code == 403 and "dùng chung cho mọi trường" in not_hers.json()["message"], not_hers.text
    longer = client.patch("/api/v1/record-types/lesson_plan/retention", headers=admin, json=body)
    assert longer.status_code == 200, longer.text
    assert retention_of(client, lan, old)["keep_until_year"] == 2041
    assert store.head(blob_key(blob_of(session, old))).retain_until == datetime(2042, 1, 1, tzinfo=UTC)
    shorter = client.patch("/api/v1/record-types/lesson_plan/retention", headers=admin, json={**body, "years": 5})
    assert shorter.status_code == 409 and "Không thể rút ngắn" in shorter.json()["message"]
    future = client.patch(
        "/api/v1/record-types/lesson_plan/retention", headers=admin, json={**body, "years": 5, "future_only": True}
    )
    assert future.status_code == 200, future.text
    assert retention_of(client, lan, old)["keep_until_year"] == 2041  # what was locked stays locked
    new = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Số thập phân"), school_year="2025-2026")
    assert retention_of(client, lan, new)["keep_until_year"] == 2031
    session.commit()
    changes = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.schedule_changed").order_by(AuditEvent.seq)
    ).all()  # in the log's order: without ORDER BY, PostgreSQL may answer in any order
    assert [e.details["after"]["years"] for e in changes] == [15, 5]
    assert changes[0].details["citation"].startswith("TT 08/2025")


@pytest.mark.parametrize(
    ("who", "body", "status", "words"),
    [
        ("admin1", {"years": 80}, 422, "2 đến 70"),
        ("admin1", {"years": 1}, 422, "2 đến 70"),
        ("admin1", {"permanent": False}, 422, "2 đến 70"),
        ("gv.lan", {"years": 12}, 403, "cán bộ lưu trữ"),
        ("lt.mai", {"years": 12}, 403, "chỉ quản trị viên hệ thống"),  # THA's archivist; THB is not hers
        ("admin1", {"years": 12, "reason": ""}, 422, ""),
    ],
)
def test_schedule_rows_are_checked(
    client: TestClient,
    world: World,
    archivist: None,
    who: str,
    body: dict,
    status: int,
    words: str,
) -> None:
    full = {"reason": "r", "citation": "TT 08/2025/TT-BGDĐT", **body}
    response = client.patch("/api/v1/record-types/lesson_plan/retention", headers=login(client, who), json=full)
    assert response.status_code == status, response.text
    if words:
        assert words in response.json()["message"]


def test_a_school_running_alone_has_its_archivist_keep_the_schedule(client: TestClient, session: Session) -> None:
    """One school served: its archivist answers for every school there is, so she keeps the schedule."""
    from archive import service
    from archive.schemas import SchoolCreate

    service.create_school(session, None, SchoolCreate(code="THA", name="Trường Tiểu học An Bình"))
    person(session, "lt.mai", Role.archivist, "THA")
    person(session, "ht.hoa", Role.principal, "THA")
    session.commit()
    body = {"years": 12, "reason": "Xác nhận theo Phụ lục", "citation": "TT 08/2025/TT-BGDĐT"}
    principal = client.patch("/api/v1/record-types/lesson_plan/retention", headers=login(client, "ht.hoa"), json=body)
    assert principal.status_code == 403, principal.text
    mai = login(client, "lt.mai")
    assert client.patch("/api/v1/record-types/lesson_plan/retention", headers=mai, json=body).status_code == 200
    rule = {"policy": "refuse", "min_dpi": 300, "reason": "Học bạ phải đọc rõ"}
    assert client.patch("/api/v1/record-types/transcript/scan-rule", headers=mai, json=rule).status_code == 200
    service.create_school(session, None, SchoolCreate(code="THB", name="Trường Tiểu học Bình Minh"))
    session.commit()  # a second school joins the installation: the schedule is no longer hers alone
    again = client.patch("/api/v1/record-types/lesson_plan/retention", headers=mai, json={**body, "years": 15})
    assert again.status_code == 403 and "dùng chung cho mọi trường" in again.json()["message"], again.text


def test_holds_freeze_records_and_the_blobs(
    client: TestClient, world: World, session: Session, store: ObjectStore
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    old = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Cũ"), school_year="2000-2001")
    other = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Cũ khác"), school_year="2000-2001", subject="Tiếng Việt")
    retention_of(client, lan, old)
    hold = client.post(
        "/api/v1/holds",
        headers=hoa,
        json={"reason": "Thanh tra theo QĐ 125/QĐ-PGDĐT", "reference": "125/QĐ-PGDĐT", "record_ids": [old]},
    )
    assert hold.status_code == 201, hold.text
    assert hold.json()["records"] == 1
    assert store.head(blob_key(blob_of(session, old))).legal_hold is True
    refused = client.delete(f"/api/v1/records/{old}", headers=hoa)
    assert refused.status_code == 409 and "tạm giữ" in refused.json()["message"]
    # the sweep moves what is past its term (2000-2001 + 10 → 2011), but never a held record
    swept = client.post("/api/v1/retention/sweep", headers=hoa)
    assert swept.status_code == 200 and swept.json()["moved_to_review"] == 1
    session.commit()
    assert session.get(RecordRetention, other).state == "review"  # type: ignore[union-attr]
    assert session.get(RecordRetention, old).state == "active"  # type: ignore[union-attr]
    released = client.post(f"/api/v1/holds/{hold.json()['id']}/release", headers=hoa, json={"reason": "Kết thúc"})
    assert released.status_code == 200 and released.json()["active"] is False
    assert store.head(blob_key(blob_of(session, old))).legal_hold is False
    again = client.post(f"/api/v1/holds/{hold.json()['id']}/release", headers=hoa, json={"reason": "x"})
    assert again.status_code == 409


def test_a_filter_hold_covers_records_added_later(client: TestClient, world: World, session: Session) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    body = {"reason": "Tranh chấp", "school_code": "THA", "school_year": "2025-2026", "record_type": "lesson_plan"}
    assert client.post("/api/v1/holds", headers=hoa, json=body).status_code == 201
    later = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Sau"), school_year="2025-2026")
    assert retention_of(client, lan, later)["holds"][0]["reason"] == "Tranh chấp"
    teacher = client.post("/api/v1/holds", headers=lan, json=body)
    assert teacher.status_code == 403
    bad = client.post("/api/v1/holds", headers=hoa, json={"reason": "x", "school_code": "THA", "record_ids": [later]})
    assert bad.status_code == 422 and "một trong" in bad.json()["message"]


def corrupt(settings: Settings, store: ObjectStore, sha: str) -> None:
    key = blob_key(sha)
    if settings.s3_endpoint:
        import io

        data = b"altered"
        store.client.put_object(store.bucket, key, io.BytesIO(data), len(data))  # type: ignore[attr-defined]
        return
    path = Path(store.root, *key.split("/"))  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(10)
        f.write(b"X")


def test_fixity_finds_altered_and_missing_blobs_and_a_broken_audit_chain(
    client: TestClient, world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    ids = [upload(client, lan, "khbd.pdf", lesson_plan_pdf(f"Bài {i}")) for i in range(3)]
    ok = hoso(settings, "fixity", env=_env(settings))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Toàn vẹn / intact" in ok.stdout
    corrupt(settings, store, blob_of(session, ids[0]))
    if not settings.s3_endpoint:  # a blob gone from the disk (S3 keeps versions: "missing" is a folder-store case)
        gone = Path(store.root, *blob_key(blob_of(session, ids[1])).split("/"))  # type: ignore[attr-defined]
        gone.unlink()
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(details={"edited": True}))
    session.commit()
    bad = hoso(settings, "fixity", env=_env(settings))
    assert bad.returncode == 1
    # on S3 the plain put over the blob leaves hoso's version intact: it is tampering, not altered bytes
    found = "bị can thiệp / tampered" if settings.s3_endpoint else "sai băm / altered"
    assert found in bad.stderr and ids[0] in bad.stderr
    assert "event 3: content was altered" in bad.stderr
    if not settings.s3_endpoint:
        assert "mất / missing" in bad.stderr
    assert client.post("/api/v1/fixity", headers=lan).status_code == 403  # a teacher may not
    assert client.post("/api/v1/fixity", headers=hoa).status_code == 202
    runs = _wait_runs(client, hoa, 3)
    finding = runs[0]["tampered" if settings.s3_endpoint else "mismatched"]
    assert runs[0]["state"] == "problems" and finding[0]["records"] == [ids[0]]


def _env(settings: Settings) -> dict[str, str]:
    extra = {}
    if settings.s3_endpoint:
        extra = {
            "HOSO_S3_ENDPOINT": settings.s3_endpoint,
            "HOSO_S3_BUCKET": settings.s3_bucket,
            "HOSO_S3_ACCESS_KEY": settings.s3_access_key or "",
            "HOSO_S3_SECRET_KEY": settings.s3_secret_key or "",
            "HOSO_S3_SECURE": "false",
            "HOSO_S3_REGION": settings.s3_region or "",
        }
    return hoso_env(settings, **extra)


def _wait_runs(client: TestClient, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = client.get("/api/v1/fixity/runs", headers=headers).json()
        if len(runs) >= count and runs[0]["state"] != "running":
            return runs  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("the fixity run did not finish")


def test_a_page_view_computes_one_record_not_the_whole_table(
    settings: Settings, engine: object, world: World, session: Session
) -> None:
    from api.app import create_app
    from retention import schedule

    # No background worker: its follow-up (retention of what it indexed) runs after its jobs are gone,
    # so waiting for the jobs could not tell when it was over, and it raced the deletion below.
    with TestClient(create_app(settings.model_copy(update={"index_worker": False}))) as client:
        lan = login(client, "gv.lan")
        ids = [upload(client, lan, "khbd.pdf", lesson_plan_pdf(f"Bài {i}")) for i in range(3)]
        index_now(client)
    session.commit()
    session.execute(delete(RecordRetention).execution_options(synchronize_session=False))
    session.commit()
    assert schedule.refresh(session, [ids[0]]) == (1, 0)
    assert schedule.refresh(session, []) == (0, 0)
    assert session.get(RecordRetention, ids[1]) is None  # untouched until asked for, or swept
    assert schedule.refresh(session) == (2, 0)


def test_fixity_findings_are_shown_only_to_those_who_manage_the_school(
    client: TestClient, world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    """A run checks the whole archive; school A's archivist sees none of school B's findings."""
    from retention import fixity
    from tests.web.test_pages_http import page_login

    person(session, "lt.mai", Role.archivist, "THA")
    person(session, "ht.binh", Role.principal, "THB")
    ours = upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf("Bài của trường A"))
    theirs = upload(
        client, login(client, "gv.binh"), "khbd.pdf", lesson_plan_pdf("Bài của trường B"), school_code="THB"
    )
    corrupt(settings, store, blob_of(session, theirs))
    session.commit()  # end the read snapshot before writing: SQLite cannot upgrade one the worker moved past
    session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(details={"edited": True}))
    session.commit()
    run = fixity.run(session, store, started_by="ht.binh")
    assert run.state == "problems"

    mai, binh, admin = login(client, "lt.mai"), login(client, "ht.binh"), login(client, "admin1")
    for seen in (
        client.get("/api/v1/fixity/runs", headers=mai).json()[0],
        client.get(f"/api/v1/fixity/runs/{run.id}", headers=mai).json(),
    ):
        assert seen["state"] == "ok" and seen["mismatched"] == [] and seen["missing"] == []
        assert seen["audit_problems"] == [] and seen["started_by"] is None  # nor who at school B ran it
    assert theirs not in client.get(f"/api/v1/fixity/runs/{run.id}", headers=mai).text
    found = client.get(f"/api/v1/fixity/runs/{run.id}", headers=binh).json()
    altered = [m["records"] for m in found["mismatched"] + found["tampered"]]  # S3: a raw put is tampering
    assert found["state"] == "problems" and altered == [[theirs]]
    everything = client.get(f"/api/v1/fixity/runs/{run.id}", headers=admin).json()
    assert everything["audit_problems"] and everything["started_by"] == "ht.binh"
    assert ours not in str(everything["mismatched"])

    page_login(client, "lt.mai")
    page = client.get("/luu-tru")
    assert page.status_code == 200 and "✔" in page.text and "sai lệch," not in page.text and theirs not in page.text
    home = client.get("/trang-chu")
    assert "Toàn vẹn" in home.text and "problems" not in home.text
