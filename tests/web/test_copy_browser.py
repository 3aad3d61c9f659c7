"""An inspector receives an authenticated copy, in the browser (issue #18 "Done when"): the inspector
asks from a search hit's record page, the school's clerk issues it with the school's seal, the
inspector downloads it and pdfsig validates it; a read copy shows pages only, with no download."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from archive.models import Role
from tests.factories import lesson_plan_pdf, login, person
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.search.test_inspector_grants import grant_body
from tests.search.test_search_api import index_now, upload
from tests.signing.test_approval_signing import nss_db, pdfsig
from tests.web.test_browser import browser, log_in, server, shot  # noqa: F401  (fixtures)


@pytest.fixture
def settings(settings, pki: TestPKI):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"trust_roots": str(pki.root_pem_path()), "tsa_url": pki.tsa_url})


def seal_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((4, 4, 116, 116), outline=(200, 0, 0, 255), width=6)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.usefixtures("world")
def test_an_inspector_receives_an_authenticated_copy(
    client: TestClient,
    session: Session,
    pki: TestPKI,
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    tmp_path: Path,
) -> None:
    person(session, "tt.nam", Role.inspector, None)
    title = "Kế hoạch bài dạy: Phân số thập phân"
    upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf(title), title=title)
    assert client.post("/api/v1/grants", headers=login(client, "ht.hoa"), json=grant_body()).status_code == 201
    index_now(client)

    inspector = browser.new_context(locale="vi-VN", accept_downloads=True)  # type: ignore[attr-defined]
    page = inspector.new_page()
    log_in(page, server, "tt.nam")
    page.goto(f"{server}/tim-kiem")
    page.locator("#q").fill("phan so")
    page.get_by_role("button", name="Tìm", exact=True).click()
    page.get_by_role("link", name=f"Yêu cầu bản sao: {title}").click()
    page.get_by_label("Bản sao có xác thực (nhà trường ký số bằng con dấu)").check()
    page.get_by_label("Mục đích sử dụng").fill("Thanh tra chuyên môn học kỳ I")
    page.get_by_role("button", name="Gửi yêu cầu bản sao").click()
    page.get_by_text("Chờ cấp").wait_for()
    shot(page, "ban-sao-cho-cap")

    clerk = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    desk = clerk.new_page()
    log_in(desk, server, "vt.thu")
    desk.get_by_role("link", name="Bản sao", exact=True).click()
    desk.get_by_role("heading", name="Yêu cầu bản sao có xác thực chờ cấp").wait_for()
    key = tmp_path / "con-dau.p12"
    key.write_bytes(pki.pkcs12("school_seal"))
    image = tmp_path / "con-dau.png"
    image.write_bytes(seal_png())
    for first_use in (True, False):  # the school's first seal is shown and confirmed, then used
        desk.get_by_label("Tệp chứng thư số con dấu của trường (.p12/.pfx)").set_input_files(str(key))
        desk.get_by_label("Mật khẩu của tệp").fill(PKCS12_PASSWORD.decode())
        desk.get_by_label("Ảnh con dấu (PNG/JPEG, không bắt buộc)").set_input_files(str(image))
        if not first_use:
            desk.get_by_label("Đây là chứng thư số con dấu của trường").check()
        desk.get_by_role("button", name="Cấp bản sao có xác thực").click()
        if first_use:
            desk.get_by_role("heading", name="Lần đầu dùng chứng thư số con dấu cho trường: hãy kiểm tra").wait_for()
            shot(desk, "ban-sao-xac-nhan-con-dau")
    desk.get_by_role("status").wait_for()
    desk.get_by_role("heading", name="Bản sao có xác thực đã giải quyết").wait_for()
    shot(desk, "ban-sao-van-thu-da-cap")
    clerk.close()

    page.reload()
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Tải bản sao 01/2026/BS").click()
    saved = tmp_path / "ban-sao.pdf"
    downloading.value.save_as(saved)
    report = pdfsig(saved, nss_db(tmp_path, pki))
    assert "Signature is Valid." in report and "ETSI.CAdES.detached" in report

    # a read copy: its pages with no download link
    page.goto(f"{server}/tim-kiem?q=phan+so")
    page.get_by_role("link", name=f"Yêu cầu bản sao: {title}").click()
    page.get_by_label("Mục đích sử dụng").fill("Đọc đối chiếu")
    page.get_by_role("button", name="Gửi yêu cầu bản sao").click()
    page.get_by_role("link", name="Xem bản đọc").click()
    page.get_by_role("img", name="Trang 1").wait_for()
    page.wait_for_function("document.querySelector('.read-copy img').naturalWidth > 0")
    assert page.locator("a[download], a[href$='/tai']").count() == 0
    shot(page, "ban-doc")
    inspector.close()
