"""The pages over plain HTTP: login with CSRF, a refused login keeps the name, cookie auth and CSRF on the API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, World, lesson_plan_pdf, login
from tests.search.test_search_api import index_now, upload


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def page_login(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    form = client.get("/dang-nhap")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    return client.post(
        "/dang-nhap",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )


def test_login_sets_an_httponly_strict_cookie_and_the_home_page_greets(client: TestClient, world: World) -> None:
    done = page_login(client, "gv.lan")
    assert done.status_code == 303 and done.headers["location"] == "/trang-chu"
    cookie = done.headers["set-cookie"]
    assert "hoso_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    home = client.get("/trang-chu")
    assert home.status_code == 200 and "Xin chào, Gv.Lan" in home.text and "Hồ sơ gần đây của tôi" in home.text
    assert "eyJ" not in home.text  # the token itself never appears in a page


def test_a_refused_login_keeps_the_name_and_says_why_next_to_the_field(client: TestClient, world: World) -> None:
    wrong = page_login(client, "gv.lan", "sai-mat-khau")
    assert wrong.status_code == 401
    assert 'value="gv.lan"' in wrong.text and 'role="alert"' in wrong.text and 'aria-invalid="true"' in wrong.text
    forged = client.post("/dang-nhap", data={"username": "gv.lan", "password": PASSWORD, "csrf_token": "x"})
    assert forged.status_code == 403


def test_the_cookie_works_on_the_api_but_writes_need_the_csrf_header(client: TestClient, world: World) -> None:
    page_login(client, "ht.hoa")
    assert client.get("/api/v1/auth/me").json()["username"] == "ht.hoa"
    hold = {"reason": "Thử", "school_code": "THA"}
    assert client.post("/api/v1/holds", json=hold).status_code == 403
    token = client.cookies.get("hoso_session")
    csrf = csrf_of(client.get("/trang-chu").text)
    assert token and client.post("/api/v1/holds", json=hold, headers={"x-csrf-token": csrf}).status_code == 201


def test_search_and_record_pages(client: TestClient, world: World) -> None:
    record_id = upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf("Kế hoạch bài dạy: Phân số"))
    index_now(client)
    page_login(client, "ht.hoa")
    found = client.get("/tim-kiem", params={"q": "phan so"})
    assert found.status_code == 200 and f"/ho-so/{record_id}" in found.text and "<b>" in found.text
    assert f'src="/api/v1/records/{record_id}/versions/1/pages/1.png?width=120"' in found.text  # its first page
    bad = client.get("/tim-kiem", params={"q": "x" * 600})
    assert bad.status_code == 422 and "quá dài" in bad.text
    page = client.get(f"/ho-so/{record_id}")
    assert page.status_code == 200 and "Các phiên bản" in page.text and "gv.lan: tải lên" in page.text
    assert "Bảo quản đến hết năm" in page.text
    other = client.get("/ho-so/00000000-0000-0000-0000-000000000000")
    assert other.status_code == 404


def test_a_teachers_home_lists_this_months_submissions_with_their_decisions(client: TestClient, world: World) -> None:
    from archive import calendar
    from tests.signing.conftest import submit, upload_plan

    lan = login(client, "gv.lan")
    period = calendar.this_month()
    record = upload_plan(client, lan, "KHBD Toán — Đo độ dài")
    submit(client, lan, record["id"], period)
    page_login(client, "gv.lan")
    home = client.get("/trang-chu").text
    assert (
        "Kế hoạch đã nộp duyệt: tháng này và các kỳ chưa ký xong (1)" in home
        and "KHBD Toán — Đo độ dài</a> — chờ duyệt" in home
    )
