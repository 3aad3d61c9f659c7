"""The dossier year in a real browser, one lean walk (issue #18): the clerk generates the 2025-2026
list → the principal approves it → a teacher's upload files itself → the clerk closes the year's
dossiers and hands them to the school's archive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from flows.settings import Settings
from tests.conftest import free_port
from tests.factories import World, lesson_plan_pdf
from tests.web.test_browser import browser, log_in, serving, shot

__all__ = ["browser"]  # the fixture, used by name
MATH5 = "Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026"


@pytest.fixture
def server(client: TestClient, settings: Settings) -> Iterator[str]:
    with serving(create_app(settings.model_copy(update={"index_worker": False})), free_port()) as url:
        yield url


def test_the_clerks_dossier_year_in_the_browser(
    client: TestClient, world: World, server: str, browser: object, tmp_path: Path
) -> None:
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "vt.thu")
    page.get_by_role("link", name="Hồ sơ", exact=True).click()
    page.get_by_label("Năm học").first.select_option("2025-2026")
    page.get_by_label("Khối 5", exact=True).check()
    page.get_by_label("Toán", exact=True).check()
    page.get_by_role("button", name="Lập danh mục").click()
    page.wait_for_url("**xong=lap")
    assert page.get_by_role("cell", name=MATH5).count() == 1
    assert "Dự thảo" in page.inner_text("#danh-muc")
    shot(page, "dossiers-draft")
    context.clear_cookies()

    log_in(page, server, "ht.hoa")
    page.goto(f"{server}/danh-muc-ho-so?truong=THA&nam=2025-2026")
    page.get_by_role("button", name="Phê duyệt danh mục").click()
    page.wait_for_url("**xong=phe-duyet")
    assert "Đã phê duyệt" in page.inner_text("#danh-muc")
    context.clear_cookies()

    log_in(page, server, "gv.lan")
    page.goto(f"{server}/tai-len")
    page.get_by_label("Loại hồ sơ").select_option("lesson_plan")
    pdf = tmp_path / "Phân số thập phân.pdf"  # the title comes from the file name
    pdf.write_bytes(lesson_plan_pdf("Phân số thập phân"))
    page.set_input_files("#file", str(pdf))
    page.get_by_label("Năm học").select_option("2025-2026")
    page.get_by_label("Tháng").select_option("10")
    page.get_by_label("Môn", exact=True).select_option("Toán")
    page.get_by_label("Khối", exact=True).select_option("5")
    page.get_by_role("button", name="Chỉ tải lên").click()
    page.locator("#tep").get_by_role("link", name="Phân số thập phân").click()
    page.wait_for_url(f"{server}/ho-so/*")
    assert MATH5 in page.inner_text("dl.meta")  # the record page names the dossier it filed itself into
    context.clear_cookies()

    log_in(page, server, "vt.thu")
    page.goto(f"{server}/danh-muc-ho-so?truong=THA&nam=2025-2026")
    assert "Mọi tài liệu đã vào hồ sơ." in page.inner_text("#chua-vao-ho-so")
    page.get_by_role("button", name="Đóng mọi hồ sơ đang lập").click()
    page.wait_for_url("**xong=dong")
    row = page.get_by_role("row").filter(has_text=MATH5)
    assert "Đã đóng" in row.inner_text() and "2 trang" in row.inner_text()
    page.get_by_role("button", name="Giao nộp mọi hồ sơ đã đóng").click()
    page.wait_for_url("**xong=giao-nop")
    assert "Đã giao nộp" in page.get_by_role("row").filter(has_text=MATH5).inner_text()
    assert "Mục lục và biên bản giao nhận" in page.inner_text("#giao-nop")
    shot(page, "dossiers-handed-over")
    # handing over again is refused beside the form, in Vietnamese, and nothing changes
    page.get_by_role("button", name="Giao nộp mọi hồ sơ đã đóng").click()
    page.wait_for_load_state()
    assert "Chọn ít nhất một hồ sơ đã đóng" in page.inner_text("#danh-muc")
    context.close()
