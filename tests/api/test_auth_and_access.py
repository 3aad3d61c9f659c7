"""Login, one-time passwords, revoked tokens, and who may see or change what."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from archive import service
from flows.settings import Settings
from tests.factories import PASSWORD, World, login, meta, pdf_bytes


def _upload(client: TestClient, headers: dict[str, str], **overrides: object) -> str:
    response = client.post(
        "/api/v1/records",
        headers=headers,
        files={"metadata": (None, json.dumps(meta(**overrides))), "file": ("a.pdf", pdf_bytes(str(overrides)))},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_login_wrong_password_and_unknown_user_look_the_same(client: TestClient, world: World) -> None:
    wrong = client.post("/api/v1/auth/token", data={"username": "gv.lan", "password": "sai-mat-khau-123"})
    unknown = client.post("/api/v1/auth/token", data={"username": "khong-co", "password": "sai-mat-khau-123"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"]
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_no_token_or_garbage_token(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/records").status_code == 401
    response = client.get("/api/v1/records", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401 and "đăng nhập lại" in response.json()["message"]


def test_disabled_and_deleted_accounts_lose_their_tokens(client: TestClient, world: World) -> None:
    admin = login(client, "admin1")
    teacher = login(client, "gv.lan")
    assert client.get("/api/v1/records", headers=teacher).status_code == 200
    assert client.patch(f"/api/v1/people/{world.teacher.id}", headers=admin, json={"active": False}).status_code == 200
    assert client.get("/api/v1/records", headers=teacher).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": "gv.lan", "password": PASSWORD}).status_code == 401

    other = login(client, "gv.minh")
    assert client.delete(f"/api/v1/people/{world.teacher2.id}", headers=admin).status_code == 204
    assert client.get("/api/v1/records", headers=other).status_code == 401
    assert client.get(f"/api/v1/people/{world.teacher2.id}", headers=admin).status_code == 404


def test_first_admin_must_change_one_time_password(client: TestClient, session: Session) -> None:
    first = service.ensure_first_admin(session)
    assert first is not None and service.ensure_first_admin(session) is None
    headers = login(client, first.username, first.password)
    refused = client.get("/api/v1/schools", headers=headers)
    assert refused.status_code == 403 and "đổi mật khẩu" in refused.json()["message"]
    assert client.get("/api/v1/auth/me", headers=headers).json()["must_change_password"] is True
    bad = client.post(
        "/api/v1/auth/password", headers=headers, json={"current_password": "wrong", "new_password": "x" * 12}
    )
    assert bad.status_code == 401
    short = client.post(
        "/api/v1/auth/password", headers=headers, json={"current_password": first.password, "new_password": "short"}
    )
    assert short.status_code == 422
    changed = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": first.password, "new_password": "mot-mat-khau-moi-dai"},
    )
    assert changed.status_code == 200
    assert client.get("/api/v1/schools", headers=headers).status_code == 401  # old token revoked
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/v1/schools", headers=fresh).status_code == 200


def test_admin_manages_schools_people_and_roles(client: TestClient, world: World) -> None:
    admin = login(client, "admin1")
    created = client.post("/api/v1/schools", headers=admin, json={"code": "THCS1", "name": "THCS Lê Lợi"})
    assert created.status_code == 201
    assert client.post("/api/v1/schools", headers=admin, json={"code": "THCS1", "name": "x"}).status_code == 409
    bad_code = client.post("/api/v1/schools", headers=admin, json={"code": "../x", "name": "x"})
    assert bad_code.status_code == 422
    person = client.post(
        "/api/v1/people",
        headers=admin,
        json={"username": "gv.moi", "full_name": "Giáo viên Mới", "password": "mat-khau-dai-123"},
    )
    assert person.status_code == 201
    pid = person.json()["id"]
    role = client.post(
        f"/api/v1/people/{pid}/memberships", headers=admin, json={"role": "teacher", "school_code": "THCS1"}
    )
    assert role.status_code == 201
    assert client.post(f"/api/v1/people/{pid}/memberships", headers=admin, json={"role": "teacher"}).status_code == 422
    assert (
        client.post(
            f"/api/v1/people/{pid}/memberships", headers=admin, json={"role": "wizard", "school_code": "THCS1"}
        ).status_code
        == 422
    )
    listed = client.get("/api/v1/people", headers=admin, params={"school_code": "THCS1"}).json()
    assert [p["username"] for p in listed] == ["gv.moi"]
    teacher = login(client, "gv.lan")
    assert client.post("/api/v1/schools", headers=teacher, json={"code": "X", "name": "x"}).status_code == 403
    assert client.get("/api/v1/people", headers=teacher).status_code == 403
    assert [s["code"] for s in client.get("/api/v1/schools", headers=teacher).json()] == ["THA"]
    assert client.get("/api/v1/schools/THB", headers=teacher).status_code == 403


def test_removed_role_revokes_reach(client: TestClient, world: World) -> None:
    admin, teacher = login(client, "admin1"), login(client, "gv.lan")
    membership = client.get(f"/api/v1/people/{world.teacher.id}", headers=admin).json()["memberships"][0]
    assert client.delete(f"/api/v1/memberships/{membership['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/records", headers=teacher).status_code == 401
    again = login(client, "gv.lan")
    assert client.get("/api/v1/records", headers=again).json()["total"] == 0


def test_school_boundaries(client: TestClient, world: World) -> None:
    lan, minh, principal, clerk = (login(client, u) for u in ("gv.lan", "gv.minh", "ht.hoa", "vt.thu"))
    other, admin = login(client, "gv.binh"), login(client, "admin1")
    rid = _upload(client, lan)

    # the same school sees it; the other school, and an admin by that role alone, do not
    for headers in (lan, minh, principal, clerk):
        assert client.get(f"/api/v1/records/{rid}", headers=headers).status_code == 200
    for headers in (other, admin):
        assert client.get(f"/api/v1/records/{rid}", headers=headers).status_code == 403
        assert client.get(f"/api/v1/records/{rid}/content", headers=headers).status_code == 403
        assert client.get("/api/v1/records", headers=headers).json()["total"] == 0
    assert client.get("/api/v1/records", headers=other, params={"school_code": "THA"}).json()["total"] == 0

    # only the author adds versions
    for headers in (minh, principal, other):
        response = client.post(
            f"/api/v1/records/{rid}/versions", headers=headers, files={"file": ("b.pdf", pdf_bytes("b"))}
        )
        assert response.status_code == 403, response.text

    # a teacher cannot write into another school; a clerk can file school records at their own
    refused = client.post(
        "/api/v1/records",
        headers=other,
        files={"metadata": (None, json.dumps(meta())), "file": ("a.pdf", pdf_bytes())},
    )
    assert refused.status_code == 403
    _upload(client, clerk, record_type="enrollment_register", title="Sổ đăng bộ 2025-2026", month=None)


def test_unknown_record_is_404_not_500(client: TestClient, world: World) -> None:
    headers = login(client, "gv.lan")
    assert client.get("/api/v1/records/does-not-exist", headers=headers).status_code == 404
    rid = _upload(client, headers)
    assert client.get(f"/api/v1/records/{rid}/versions/7/content", headers=headers).status_code == 404


def test_record_types_are_seeded_with_retention_and_citations(client: TestClient, world: World) -> None:
    types = {t["code"]: t for t in client.get("/api/v1/record-types", headers=login(client, "gv.lan")).json()}
    assert set(types) >= {
        "lesson_plan",
        "gradebook",
        "transcript",
        "enrollment_register",
        "school_plan",
        "department_plan",
        "department_minutes",
        "online_teaching_evidence",
        "lesson_recording",
        "directive",
    }
    assert types["transcript"]["retention_permanent"] and types["enrollment_register"]["retention_permanent"]
    assert types["lesson_plan"]["name_vi"] == "Kế hoạch bài dạy (giáo án)"
    assert types["lesson_plan"]["signing_cadence"] == "monthly"
    for t in types.values():
        assert t["retention_basis"] and t["legal_basis"]
        assert t["retention_permanent"] or 2 <= t["retention_years"] <= 70


def test_the_last_administrator_cannot_be_removed(client: TestClient, world: World) -> None:
    admin = login(client, "admin1")
    own = client.get(f"/api/v1/people/{world.admin.id}", headers=admin).json()["memberships"][0]
    refused = client.delete(f"/api/v1/memberships/{own['id']}", headers=admin)
    assert refused.status_code == 409 and "quản trị viên cuối cùng" in refused.json()["message"]
    second = client.post(
        "/api/v1/people",
        headers=admin,
        json={"username": "admin2", "full_name": "QT 2", "password": "mat-khau-dai-123"},
    ).json()
    client.post(f"/api/v1/people/{second['id']}/memberships", headers=admin, json={"role": "admin"})
    assert client.patch(f"/api/v1/people/{second['id']}", headers=admin, json={"active": False}).status_code == 200
    # a disabled admin does not count: admin1 is still the last active one
    assert client.delete(f"/api/v1/memberships/{own['id']}", headers=admin).status_code == 409
    assert client.patch(f"/api/v1/people/{second['id']}", headers=admin, json={"active": True}).status_code == 200
    assert client.delete(f"/api/v1/memberships/{own['id']}", headers=admin).status_code == 204


# -- the login throttle and logging out (issue #13, item 5) ---------------------------------------


class _Clock:
    """The throttle's "now", moved by hand: a test never sleeps through a back-off."""

    def __init__(self) -> None:
        from archive.db import utcnow

        self.now = utcnow()

    def __call__(self) -> Any:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    import archive.throttle

    pinned = _Clock()
    monkeypatch.setattr(archive.throttle, "utcnow", pinned)
    return pinned


def _try(client: TestClient, username: str, password: str, **headers: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password}, headers=headers)


def test_wrong_passwords_back_off_exponentially_and_the_right_one_works_after_the_wait(
    client: TestClient, world: World, clock: _Clock
) -> None:
    for _ in range(5):
        assert _try(client, "ht.hoa", "sai-mat-khau-123").status_code == 401
    assert _try(client, "gv.lan", PASSWORD).status_code == 200  # another account is not held
    waits = []
    for _ in range(4):
        refused = _try(client, "ht.hoa", PASSWORD)  # refused unchecked while it must wait, right or not
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
        assert "thử lại sau" in refused.json()["message"]
        waits.append(int(refused.headers["retry-after"]))
        clock.advance(waits[-1])
        assert _try(client, "ht.hoa", "sai-mat-khau-123").status_code == 401
    assert waits == [1, 2, 4, 8]
    for _ in range(20):  # far into the back-off: the wait stops growing at the cap
        clock.advance(600)
        assert _try(client, "ht.hoa", "sai-mat-khau-123").status_code == 401
    assert int(_try(client, "ht.hoa", PASSWORD).headers["retry-after"]) == 300
    clock.advance(300)
    assert _try(client, "ht.hoa", PASSWORD).status_code == 200  # no lockout: the principal gets in
    assert _try(client, "ht.hoa", "sai-mat-khau-123").status_code == 401  # and starts afresh


def test_the_throttle_is_shared_by_every_server_on_the_database(
    client: TestClient, settings: Settings, world: World, clock: _Clock
) -> None:
    from api.app import create_app

    with TestClient(create_app(settings)) as other_server:
        for _ in range(5):
            assert _try(client, "ht.hoa", "sai-mat-khau-123").status_code == 401
        assert _try(other_server, "ht.hoa", PASSWORD).status_code == 429


def test_one_address_guessing_many_accounts_is_throttled_and_forwarded_for_does_not_fool_it(
    client: TestClient, world: World, clock: _Clock
) -> None:
    for i in range(30):
        forged = {"X-Forwarded-For": f"203.0.113.{i}"}
        assert _try(client, f"khong-co-{i}", "sai-mat-khau-123", **forged).status_code == 401
    refused = _try(client, "gv.lan", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"

    # Behind a trusted reverse proxy, its X-Forwarded-For names the client.
    hoso = client.app.state.hoso  # type: ignore[attr-defined]
    hoso.settings = hoso.settings.model_copy(update={"trusted_proxies": "testclient,10.0.0.0/8"})
    behind = _try(client, "gv.lan", PASSWORD, **{"X-Forwarded-For": "198.51.100.7, 10.1.2.3"})
    assert behind.status_code == 200, behind.text
    assert _try(client, "gv.lan", PASSWORD).status_code == 429  # the proxy's own address is still held


def test_a_session_left_open_cannot_guess_the_current_password_at_full_speed(
    client: TestClient, world: World, clock: _Clock
) -> None:
    """POST /auth/password checks the current password through the login throttle: someone at a PC
    where a principal stayed signed in gets the same back-off as at the login form."""
    headers = login(client, "ht.hoa")

    def change(current: str) -> Any:
        body = {"current_password": current, "new_password": "mot-mat-khau-moi-dai"}
        return client.post("/api/v1/auth/password", headers=headers, json=body)

    for _ in range(5):
        assert change("sai-mat-khau-123").status_code == 401
    refused = change(PASSWORD)  # the right one too, while the account must wait
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert _try(client, "ht.hoa", PASSWORD).status_code == 429  # one count for the form and the login
    clock.advance(1)
    assert change(PASSWORD).status_code == 200


def test_logging_out_ends_that_token_at_once_and_only_that_one(client: TestClient, world: World) -> None:
    phone, laptop = login(client, "gv.lan"), login(client, "gv.lan")
    assert client.post("/api/v1/auth/logout", headers=phone).status_code == 204
    refused = client.get("/api/v1/auth/me", headers=phone)
    assert refused.status_code == 401 and "đăng nhập lại" in refused.json()["message"]
    assert client.post("/api/v1/auth/logout", headers=phone).status_code == 401
    assert client.get("/api/v1/auth/me", headers=laptop).status_code == 200  # the other session goes on


def test_revoked_tokens_are_pruned_once_they_would_have_expired(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jwt
    from sqlalchemy import select

    from archive import calendar
    from archive.login_models import RevokedToken

    def jti(headers: dict[str, str]) -> str:
        return str(jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})["jti"])

    first = login(client, "gv.lan")
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    session.commit()  # a fresh snapshot
    assert list(session.scalars(select(RevokedToken.jti))) == [jti(first)]
    with calendar.pinned(calendar.now() + timedelta(hours=9)):  # past the first token's 8-hour lifetime
        second = login(client, "gv.minh")
        assert client.post("/api/v1/auth/logout", headers=second).status_code == 204
    session.commit()
    assert list(session.scalars(select(RevokedToken.jti))) == [jti(second)]  # the expired one is gone


def test_the_page_logout_ends_the_cookie_session_on_the_server(client: TestClient, world: World) -> None:
    from tests.web.test_pages_http import csrf_of, page_login

    page_login(client, "ht.hoa")
    cookie = client.cookies.get("hoso_session")
    assert cookie and client.get("/api/v1/auth/me").status_code == 200
    csrf = csrf_of(client.get("/trang-chu").text)
    done = client.post("/dang-xuat", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    thief = TestClient(client.app)  # kept a copy of the cookie
    thief.cookies.set("hoso_session", cookie)
    assert thief.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cookie}"}).status_code == 401


def test_the_login_page_says_in_vietnamese_how_long_to_wait(client: TestClient, world: World, clock: _Clock) -> None:
    from tests.web.test_pages_http import page_login

    for _ in range(5):
        assert page_login(client, "ht.hoa", "sai-mat-khau").status_code == 401
    refused = page_login(client, "ht.hoa")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "Đăng nhập sai quá nhiều lần; hãy thử lại sau 1 giây." in refused.text
    assert 'value="ht.hoa"' in refused.text
    clock.advance(1)
    assert page_login(client, "ht.hoa").status_code == 303
