"""Error pages in the browser (#15): what happened and where to go, in HTML; the API keeps its JSON."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from archive.exceptions import Forbidden, NotFound, Unauthorized
from archive.storage import StoreUnavailable
from flows.settings import Settings
from tests.factories import World, login
from tests.web.test_pages_http import page_login

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"}
SECRET = "bí mật nội bộ: postgresql://hoso@db"


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    """hoso's app with a few pages that fail, as a page's own code might."""
    from api.app import create_app

    app = create_app(settings)

    def forbidden() -> None:
        raise Forbidden("Chỉ hiệu trưởng được xem sổ này.", "Only the principal may see this register.")

    def missing() -> None:
        raise NotFound("Không có đợt ký này.", "No such signing batch.")

    def signed_out() -> None:
        raise Unauthorized("Bạn cần đăng nhập.", "You need to log in.")

    def store_down() -> None:
        raise StoreUnavailable("Kho lưu trữ tệp đang không trả lời.", "The file store does not answer.")

    def broken() -> None:
        raise RuntimeError(SECRET)

    for path, endpoint in [
        ("/thu/cam", forbidden),
        ("/thu/khong-co", missing),
        ("/thu/chua-dang-nhap", signed_out),
        ("/thu/kho-ngung", store_down),
        ("/thu/hong", broken),
        ("/api/v1/thu/hong", broken),
    ]:
        app.add_api_route(path, endpoint, methods=["GET"])
    return app


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, headers=BROWSER, raise_server_exceptions=False) as client:
        yield client


def is_page(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    assert '<link rel="stylesheet" href="/static/hoso.css">' in response.text  # the app's layout
    assert '"error":' not in response.text and "Traceback" not in response.text
    return response.text


def test_an_unknown_page_says_not_found_and_leads_home_and_to_login(browser: TestClient, world: World) -> None:
    html = is_page(browser.get("/khong-co-trang-nay"), 404)
    assert "<h1>Không tìm thấy trang</h1>" in html and '<html lang="vi">' in html
    assert '<a href="/">Về trang chủ</a>' in html and '<a href="/dang-nhap">Đăng nhập</a>' in html
    assert "Not Found" not in html


def test_in_english_when_the_switch_says_so(browser: TestClient, world: World) -> None:
    browser.cookies.set("hoso_lang", "en")
    html = is_page(browser.get("/ho-so-cu/123"), 404)
    assert '<html lang="en">' in html and "<h1>Page not found</h1>" in html and ">Home page</a>" in html
    assert "Không tìm thấy" not in html and ">Log in</a>" in html


def test_signed_in_the_page_keeps_the_menu_and_leads_to_search(browser: TestClient, world: World) -> None:
    page_login(browser, "gv.lan")
    html = is_page(browser.get("/khong-co-trang-nay"), 404)
    assert "Gv.Lan" in html and 'href="/tim-kiem"' in html and 'href="/dang-nhap"' not in html


def test_reopening_a_forms_address_shows_the_form_and_another_wrong_method_a_405_page(
    browser: TestClient, world: World
) -> None:
    page_login(browser, "admin1")
    for posted, form in [
        ("/quan-tri/truong", "/quan-tri"),
        ("/ho-so/abc/nop-duyet", "/ho-so/abc"),
        ("/dang-xuat", "/"),
    ]:
        reopened = browser.get(posted, follow_redirects=False)  # the history, a bookmark, a reload
        assert reopened.status_code == 303 and reopened.headers["location"] == form, posted
    response = browser.delete("/trang-chu")
    html = is_page(response, 405)
    assert "<h1>Không mở được trang theo cách này</h1>" in html and "biểu mẫu" in html
    assert response.headers["allow"] == "GET"


def test_the_api_and_clients_not_asking_for_html_keep_json(app: FastAPI, browser: TestClient, world: World) -> None:
    assert browser.get("/api/v1/khong-co").json() == {"detail": "Not Found"}
    with TestClient(app, raise_server_exceptions=False) as plain:
        assert plain.get("/khong-co-trang-nay").json() == {"detail": "Not Found"}
        assert plain.get("/dang-xuat").json() == {"detail": "Method Not Allowed"}
        problem = plain.get("/thu/khong-co").json()
        assert problem == {
            "error": "not_found",
            "message": "Không có đợt ký này.",
            "message_en": "No such signing batch.",
        }
        headers = login(plain, "gv.lan")
        missing = browser.get("/api/v1/records/khong-co", headers=headers)
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        failed = plain.get("/api/v1/thu/hong")
        assert failed.status_code == 500 and failed.text == "Internal Server Error"
        failed = browser.get("/api/v1/thu/hong")
        assert failed.status_code == 500 and failed.text == "Internal Server Error"


def test_a_page_whose_error_is_a_hoso_error_shows_its_status_and_message(browser: TestClient, world: World) -> None:
    html = is_page(browser.get("/thu/cam"), 403)
    assert "<h1>Bạn không có quyền xem trang này</h1>" in html and "Chỉ hiệu trưởng được xem sổ này." in html
    html = is_page(browser.get("/thu/khong-co"), 404)
    assert "Không có đợt ký này." in html and "forbidden" not in html and "not_found" not in html
    html = is_page(browser.get("/thu/kho-ngung"), 503)
    assert "<h1>Dịch vụ tạm thời gián đoạn</h1>" in html and "Kho lưu trữ tệp đang không trả lời." in html
    browser.cookies.set("hoso_lang", "en")
    assert "Only the principal may see this register." in is_page(browser.get("/thu/cam"), 403)


def test_a_missing_record_signed_in(browser: TestClient, world: World) -> None:
    page_login(browser, "gv.lan")
    html = is_page(browser.get("/ho-so/khong-co-ho-so-nay"), 404)
    assert "<h1>Không tìm thấy trang</h1>" in html and 'role="alert"' in html and '<a href="/">' in html


def test_signed_out_goes_to_the_login_page(browser: TestClient, world: World) -> None:
    response = browser.get("/thu/chua-dang-nhap", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dang-nhap"


def test_a_page_query_that_does_not_validate_is_a_page(browser: TestClient, world: World) -> None:
    page_login(browser, "gv.lan")
    html = is_page(browser.get("/tim-kiem", params={"page": "hai"}), 422)
    assert "<h1>Dữ liệu không hợp lệ</h1>" in html and "phải là số nguyên" in html


def test_an_unhandled_error_is_a_500_page_without_its_text(browser: TestClient, world: World) -> None:
    html = is_page(browser.get("/thu/hong"), 500)
    assert "<h1>Đã có lỗi ở máy chủ</h1>" in html and "thử lại" in html
    assert SECRET not in html and "RuntimeError" not in html and "postgresql" not in html
    browser.cookies.set("hoso_lang", "en")
    assert "<h1>Something went wrong on the server</h1>" in is_page(browser.get("/thu/hong"), 500)
