"""Administration in the browser's forms: schools, people with a role, inspection grants, one's password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive import calendar
from archive.models import Person
from signing.keys import parse_fingerprint
from tests.factories import PASSWORD, World
from tests.web.test_pages_http import csrf_of, page_login


def post_form(client: TestClient, page: str, action: str, data: dict, **kw):  # type: ignore[no-untyped-def,type-arg]
    form = client.get(page)
    assert form.status_code == 200, form.text[:300]
    return client.post(action, data={"csrf_token": csrf_of(form.text), **data}, follow_redirects=False, **kw)


def test_the_admin_creates_a_school_and_its_people_and_refused_forms_keep_their_values(
    client: TestClient, world: World, session: Session
) -> None:
    page_login(client, "admin1")
    made = post_form(client, "/quan-tri", "/quan-tri/truong", {"code": "THCS-NDU", "name": "THCS Nguyễn Du"})
    assert made.status_code == 303, made.text[:500]
    twice = post_form(client, "/quan-tri", "/quan-tri/truong", {"code": "THCS-NDU", "name": "Khác"})
    assert twice.status_code == 409 and "Đã có trường" in twice.text and 'value="Khác"' in twice.text
    bad = post_form(client, "/quan-tri", "/quan-tri/truong", {"code": "có dấu", "name": ""})
    assert bad.status_code == 422 and "ký tự không hợp lệ" in bad.text and 'value="có dấu"' in bad.text

    teacher = {
        "username": "gv.an",
        "full_name": "Lê Văn An",
        "password": "mat-khau-gv-an-1",
        "role": "teacher",
        "school_code": "THCS-NDU",
    }
    assert post_form(client, "/quan-tri", "/quan-tri/nguoi-dung", teacher).status_code == 303
    short = post_form(client, "/quan-tri", "/quan-tri/nguoi-dung", {**teacher, "username": "gv.b", "password": "ngan"})
    assert short.status_code == 422 and "ít nhất 10 ký tự" in short.text and 'value="gv.b"' in short.text
    no_school = post_form(
        client, "/quan-tri", "/quan-tri/nguoi-dung", {**teacher, "username": "gv.c", "school_code": ""}
    )
    assert no_school.status_code == 422 and 'id="loi-nd-school_code"' in no_school.text
    inspector_at_school = {**teacher, "username": "tt.d", "role": "inspector"}
    refused = post_form(client, "/quan-tri", "/quan-tri/nguoi-dung", inspector_at_school)
    assert refused.status_code == 422 and "không gắn với trường" in refused.text
    taken = post_form(client, "/quan-tri", "/quan-tri/nguoi-dung", teacher)
    assert taken.status_code == 409 and "đã có" in taken.text
    session.commit()  # a fresh snapshot
    names = set(session.scalars(select(Person.username)))
    assert "gv.an" in names and not {"gv.b", "gv.c", "tt.d"} & names  # nothing half-made

    listing = client.get("/quan-tri").text
    assert "THCS Nguyễn Du" in listing and "Giáo viên (THCS-NDU)" in listing
    client.cookies.clear()
    assert page_login(client, "gv.an", "mat-khau-gv-an-1").headers["location"] == "/trang-chu"
    assert client.get("/quan-tri").status_code == 403  # a teacher is not an admin


def test_a_principal_grants_an_inspector_and_revokes_with_a_reason(client: TestClient, world: World) -> None:
    page_login(client, "admin1")
    inspector = {"username": "tt.son", "full_name": "Thanh tra Sơn", "password": PASSWORD, "role": "inspector"}
    assert post_form(client, "/quan-tri", "/quan-tri/nguoi-dung", inspector).status_code == 303
    client.cookies.clear()
    page_login(client, "ht.hoa")
    grant = {
        "inspector": "tt.son",
        "decision_number": "45/QĐ-PGDĐT",
        "school_codes": ["THA"],
        "school_years": "2025-2026",
        "expires_on": (calendar.today() + timedelta(days=30)).isoformat(),
    }
    other_school = post_form(client, "/cap-quyen-thanh-tra", "/cap-quyen-thanh-tra", {**grant, "school_codes": ["THB"]})
    assert other_school.status_code == 422 and "hiệu trưởng của trường" in other_school.text
    no_date = post_form(client, "/cap-quyen-thanh-tra", "/cap-quyen-thanh-tra", {**grant, "expires_on": ""})
    assert no_date.status_code == 422 and "ngày hết hạn" in no_date.text and 'value="45/QĐ-PGDĐT"' in no_date.text
    assert post_form(client, "/cap-quyen-thanh-tra", "/cap-quyen-thanh-tra", grant).status_code == 303
    listing = client.get("/cap-quyen-thanh-tra").text
    assert "45/QĐ-PGDĐT" in listing and "Đang hiệu lực" in listing
    grant_id, fingerprint = (client.get("/api/v1/grants").json()[0][k] for k in ("id", "seal_fingerprint"))
    assert parse_fingerprint(fingerprint) == fingerprint and fingerprint in listing  # in the grant, as published
    action = f"/cap-quyen-thanh-tra/{grant_id}/thu-hoi"
    assert post_form(client, "/cap-quyen-thanh-tra", action, {"reason": ""}).status_code == 422
    assert post_form(client, "/cap-quyen-thanh-tra", action, {"reason": "Kết thúc thanh tra"}).status_code == 303
    assert "Đã thu hồi" in client.get("/cap-quyen-thanh-tra").text
    client.cookies.clear()
    page_login(client, "tt.son")
    assert fingerprint in client.get("/trang-chu").text  # the inspector's home shows the seal to check against
    client.cookies.clear()
    page_login(client, "gv.lan")
    assert client.get("/cap-quyen-thanh-tra").status_code == 403


def test_a_one_time_password_must_be_changed_first(client: TestClient, world: World, session: Session) -> None:
    session.commit()  # start with the write: a read-then-write transaction can meet the worker's lock on SQLite
    session.execute(update(Person).where(Person.username == "gv.lan").values(must_change_password=True))
    session.commit()
    assert page_login(client, "gv.lan").headers["location"] == "/doi-mat-khau"
    assert client.get("/trang-chu", follow_redirects=False).headers["location"] == "/doi-mat-khau"
    change = {"current_password": PASSWORD, "new_password": "mat-khau-moi-123", "repeat_password": "khac-han-123"}
    mismatch = post_form(client, "/doi-mat-khau", "/doi-mat-khau", change)
    assert mismatch.status_code == 422 and "không khớp" in mismatch.text
    wrong = post_form(
        client,
        "/doi-mat-khau",
        "/doi-mat-khau",
        {**change, "current_password": "sai", "repeat_password": "mat-khau-moi-123"},
    )
    assert wrong.status_code == 422 and "hiện tại không đúng" in wrong.text
    done = post_form(client, "/doi-mat-khau", "/doi-mat-khau", {**change, "repeat_password": "mat-khau-moi-123"})
    assert done.status_code == 303 and done.headers["location"] == "/trang-chu"
    assert client.get("/trang-chu").status_code == 200  # the new session cookie works
    client.cookies.clear()
    assert page_login(client, "gv.lan", "mat-khau-moi-123").headers["location"] == "/trang-chu"


def test_the_password_page_backs_off_like_the_login_form(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.throttle
    from archive.db import utcnow

    pinned = utcnow()
    monkeypatch.setattr(archive.throttle, "utcnow", lambda: pinned)  # no back-off runs out mid-test
    page_login(client, "ht.hoa")
    guess = {
        "current_password": "sai-mat-khau",
        "new_password": "mat-khau-moi-123",
        "repeat_password": "mat-khau-moi-123",
    }
    for _ in range(5):
        assert post_form(client, "/doi-mat-khau", "/doi-mat-khau", guess).status_code == 422
    held = post_form(client, "/doi-mat-khau", "/doi-mat-khau", {**guess, "current_password": PASSWORD})
    assert held.status_code == 429 and held.headers["retry-after"] == "1" and "thử lại sau" in held.text
