"""The pages in a real browser (Debian's chromium, driven by Playwright): log in, search, a signed record, a phone."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.sign_agent import create_agent
from archive import calendar
from flows.settings import Settings
from tests.conftest import STARTUP_DEADLINE, free_port, on_dates
from tests.factories import PASSWORD, World, login
from tests.pki import TestPKI
from tests.search.test_search_api import index_now
from tests.signing.conftest import approve_all, sign, submit, upload_plan, wait_batch
from tests.softhsm import Token

AGENT_PORT = free_port()
AGENT_URL = f"http://127.0.0.1:{AGENT_PORT}"
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "web"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def settings(settings: Settings, pki: TestPKI) -> Settings:
    return settings.model_copy(
        update={
            "trust_roots": str(pki.root_pem_path()),
            "tsa_url": pki.tsa_url,
            "sign_agent_url": AGENT_URL,
            "trust_demo_root": True,
        }
    )


@pytest.fixture
def browser() -> Iterator[object]:
    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        yield launched
        launched.close()


@contextmanager
def serving(app: object, port: int) -> Iterator[str]:
    """An ASGI app over real HTTP on 127.0.0.1 in a thread, for the browser."""
    running = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_DEADLINE
    while not running.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not running.started:
        raise RuntimeError(f"the server on port {port} did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(client: TestClient, settings: Settings) -> Iterator[str]:
    """The same archive served over real HTTP for the browser (the TestClient app holds the data)."""
    with serving(create_app(settings.model_copy(update={"index_worker": False})), free_port()) as url:
        yield url


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/trang-chu")


def test_a_teacher_and_a_principal_in_the_browser(
    client: TestClient, world: World, pki: TestPKI, server: str, browser: object, principal_certificate: None
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    record = upload_plan(client, lan, "Kế hoạch bài dạy: Phân số thập phân")
    batch_id = submit(client, lan, record["id"])["batch_id"]
    approve_all(client, hoa, batch_id)
    assert sign(client, hoa, batch_id, pki.pkcs12("principal"), level="B-T").status_code == 202
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"
    index_now(client)

    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server}/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill("gv.lan")
    page.get_by_label("Mật khẩu").fill("sai")
    page.get_by_role("button", name="Đăng nhập").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Tên đăng nhập").input_value() == "gv.lan"  # nothing lost from the form
    shot(page, "dang-nhap-loi")
    log_in(page, server, "gv.lan")
    assert page.get_by_text("Hồ sơ gần đây của tôi").is_visible()
    shot(page, "trang-chu-giao-vien")
    context.close()

    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "ht.hoa")
    assert page.get_by_text("Duyệt kế hoạch bài dạy").is_visible()
    shot(page, "trang-chu-hieu-truong")
    page.get_by_label("Tìm hồ sơ (gõ có dấu hoặc không dấu)").fill("phan so thap phan")
    page.get_by_role("button", name="Tìm").click()
    page.get_by_role("link", name="Kế hoạch bài dạy: Phân số thập phân", exact=True).click()  # not "Yêu cầu bản sao: …"
    assert page.get_by_text("Chữ ký hợp lệ").first.is_visible()
    assert page.get_by_text("Nguyễn Thị Hoa").first.is_visible()
    shot(page, "ho-so-da-ky")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{server}/dang-nhap")
    context.close()

    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")  # type: ignore[attr-defined]
    page = phone.new_page()
    log_in(page, server, "ht.hoa")
    for path, name in (
        ("/tim-kiem?q=phan+so", "tim-kiem"),
        ("/trang-chu", "trang-chu"),
        ("/duyet?period=2026-11", "duyet"),
        (f"/ho-so/{record['id']}", "ho-so"),
        ("/luu-tru", "luu-tru"),
        ("/thong-ke?ky=2026-11", "thong-ke"),
    ):
        page.goto(f"{server}{path}")
        # measured once the web font has swapped in (font-display: swap), the layout a phone settles on
        width = page.evaluate("document.fonts.ready.then(() => document.documentElement.scrollWidth)")
        assert width <= 360, f"{path} scrolls sideways on a phone ({width}px)"
        shot(page, f"{name}-dien-thoai")
    phone.close()


def test_a_recording_upload_survives_a_dropped_connection_and_a_reload(
    client: TestClient, world: World, server: str, browser: object, tmp_path: Path
) -> None:
    from tests.factories import mp4_bytes

    video = tmp_path / "tiet-day-khoa-hoc.mp4"
    video.write_bytes(mp4_bytes(10 * 1024 * 1024 + 17))  # several chunks, whatever the link's speed
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "gv.lan")
    page.goto(f"{server}/tai-len")
    page.get_by_label("Loại hồ sơ").select_option("lesson_recording")
    page.locator("#file").set_input_files(str(video))
    assert page.locator("#title-0").input_value() == "tiet day khoa hoc"  # the title from the file name
    page.locator("#title-0").fill("")
    page.get_by_role("button", name="Chỉ tải lên").click()
    page.locator("#loi-title-0", has_text=re.compile(r"\S")).wait_for()  # (no wait_for_function: the CSP forbids eval)
    assert "thiếu" in page.locator("#loi-title-0").inner_text()  # refused next to the field, nothing sent
    assert page.locator("#tep li").count() == 1  # the chosen file is kept
    shot(page, "tai-len-loi")

    offsets: list[str] = []
    sizes: list[int] = []
    blocked = {"on": True}

    def on_patch(route, request):  # type: ignore[no-untyped-def]
        if request.method != "PATCH":
            route.continue_()
            return
        offsets.append(request.headers.get("upload-offset", ""))
        if blocked["on"] and request.headers.get("upload-offset") != "0":
            route.abort("connectionreset")  # the school's internet drops after the first chunk
            return
        sizes.append(len(request.post_data_buffer or b""))
        route.continue_()

    page.route("**/api/v1/uploads/*", on_patch)
    page.locator("#title-0").fill("Video tiết dạy Khoa học 5B")
    page.get_by_role("button", name="Chỉ tải lên").click()
    page.locator("#status", has_text="Mất kết nối").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Chỉ tải lên").is_disabled()  # no second upload while one is sending
    assert int(page.locator("#tep progress").get_attribute("value") or 0) >= 9  # the first MiB is counted
    shot(page, "tai-len-mat-ket-noi")
    # the teacher gives up waiting and reloads the page, then chooses the same file again
    page.reload()
    blocked["on"] = False
    page.get_by_label("Loại hồ sơ").select_option("lesson_recording")
    page.locator("#file").set_input_files(str(video))
    page.locator("#title-0").fill("Video tiết dạy Khoa học 5B")
    page.get_by_role("button", name="Chỉ tải lên").click()
    page.get_by_role("link", name="Video tiết dạy Khoa học 5B").click(timeout=60_000)
    page.wait_for_url(f"{server}/ho-so/*")
    assert offsets.count("0") == 1, offsets  # the first chunk was sent once, never again
    assert max(sizes) > min(sizes), sizes  # the chunk grew with the measured speed
    assert page.get_by_role("heading", name="Video tiết dạy Khoa học 5B").is_visible()
    assert page.locator("video").count() == 1
    shot(page, "ho-so-video")
    context.close()


@on_dates("mid-november", "first-of-december")
def test_the_principal_approves_returns_and_signs_the_month_in_the_browser(
    client: TestClient, world: World, pki: TestPKI, server: str, browser: object, tmp_path: Path, clock: datetime
) -> None:
    """November's plans, and the principal lands on them from the menu, on 15 November or 1 December."""
    lan = login(client, "gv.lan")
    records = [upload_plan(client, lan, title) for title in ("KHBD Toán — Phân số", "KHBD Tiếng Việt — Tập đọc")]
    for record in records:
        submit(client, lan, record["id"])
    p12 = tmp_path / "hieu-truong.p12"
    p12.write_bytes(pki.pkcs12("principal"))
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "ht.hoa")
    page.get_by_role("link", name="Duyệt", exact=True).click()
    page.wait_for_url(
        "**/duyet**"
    )  # loaded (wait_until="load"): the queue's script runs before its buttons are pressed
    row = page.locator("tr", has_text="KHBD Tiếng Việt — Tập đọc")
    row.get_by_label("Trả lại").check()
    row.get_by_label("Ý kiến").fill("Bổ sung phần đánh giá")
    page.get_by_role("button", name="Chọn duyệt tất cả còn lại").click()
    shot(page, "duyet-hang-cho")
    page.get_by_role("button", name="Lưu quyết định").click()
    page.get_by_text("Bổ sung phần đánh giá").wait_for()  # saved in place, no reload
    page.locator("input[name=pkcs12]").set_input_files(str(p12))
    page.get_by_label("Mật khẩu tệp .p12").fill("sai")
    page.get_by_role("button", name="Ký duyệt").click()
    assert page.get_by_role("alert").filter(has_text="sai mật khẩu").is_visible()  # beside the form; nothing signed
    shot(page, "ky-duyet-sai-mat-khau")
    page.locator("input[name=pkcs12]").set_input_files(str(p12))
    page.get_by_label("Mật khẩu tệp .p12").fill("mat-khau-p12")
    page.get_by_role("button", name="Ký duyệt").click()
    # her certificate's first use: its details, and "this is my certificate" to tick; nothing signed yet
    confirmation = page.get_by_role("group", name="Lần đầu ký bằng chứng thư số này: hãy kiểm tra")
    assert confirmation.get_by_text("Nguyễn Thị Hoa").first.is_visible()
    assert confirmation.get_by_text("khác tên của bạn").is_visible()  # Ht.Hoa, the test account's name
    shot(page, "ky-duyet-xac-nhan-chung-thu")
    assert (
        client.get("/api/v1/approvals?school_code=THA&period=2026-11", headers=login(client, "ht.hoa")).json()[0][
            "counts"
        ]["signed"]
        == 0
    )
    page.get_by_label("Đây là chứng thư số của tôi").check()
    page.locator("input[name=pkcs12]").set_input_files(str(p12))
    page.get_by_label("Mật khẩu tệp .p12").fill("mat-khau-p12")
    page.get_by_role("button", name="Ký duyệt").click()
    page.get_by_text("Đã ký xong").wait_for(timeout=60_000)
    shot(page, "ky-duyet-xong")
    page.get_by_role("link", name="Biên bản duyệt (đã ký)").click()
    assert page.get_by_text("Chữ ký hợp lệ").first.is_visible()
    context.close()
    seen = client.get(f"/api/v1/records/{records[1]['id']}/approvals", headers=lan).json()
    assert seen[-1]["decision"] == "returned" and seen[-1]["comment"] == "Bổ sung phần đánh giá"


def test_the_principal_signs_with_the_usb_token_on_their_pc_through_the_sign_agent(
    client: TestClient, world: World, server: str, browser: object, tokens: dict[str, Token]
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    batch_id = ""
    for title in ("KHBD Toán — Hình tròn", "KHBD Khoa học — Nước", "KHBD Lịch sử — Văn Lang"):
        batch_id = submit(client, lan, upload_plan(client, lan, title)["id"])["batch_id"]
    approve_all(client, hoa, batch_id)
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "ht.hoa")
    page.goto(f"{server}/duyet?period=2026-11")
    page.get_by_label("USB token cắm vào máy tính này").check()
    page.get_by_text("Chưa thấy hoso sign-agent").wait_for()  # not started yet: the page says how
    assert f"--origin {server}" in page.locator("pre").inner_text()
    shot(page, "ky-usb-token-chua-chay-agent")
    agent = create_agent(tokens["principal"].module, server, AGENT_PORT, idle_seconds=60)
    with serving(agent, AGENT_PORT):
        page.get_by_role("button", name="thử lại").click()
        page.get_by_text("Đã kết nối hoso sign-agent").wait_for()
        page.get_by_label("USB token", exact=True).select_option("HT-HOA")
        page.get_by_role("button", name="Ký duyệt").click()
        assert page.get_by_text("Nhập mã PIN của USB token.").is_visible()
        page.get_by_label("Mã PIN của USB token").fill("000000")
        page.get_by_role("button", name="Ký duyệt").click()
        page.get_by_text("Sai mã PIN").wait_for()
        assert client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()["counts"]["signed"] == 0
        shot(page, "ky-usb-token-sai-pin")
        page.get_by_label("Mã PIN của USB token").fill(tokens["principal"].pin)
        page.get_by_role("button", name="Ký duyệt").click()
        # the token's certificate signs here for the first time: she checks it and confirms it is hers
        confirm = page.get_by_role("button", name="Đây là chứng thư số của tôi")
        confirm.wait_for(timeout=60_000)
        assert page.get_by_text("Nguyễn Thị Hoa").first.is_visible()
        assert client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()["counts"]["signed"] == 0
        shot(page, "ky-usb-token-xac-nhan-chung-thu")
        confirm.click()
        page.wait_for_url(f"{server}/duyet/{batch_id}", timeout=60_000)
        page.get_by_text("Đã ký xong").wait_for()
        shot(page, "ky-usb-token-xong")
    context.close()
    batch = client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()
    assert batch["state"] == "signed" and batch["counts"]["signed"] == 3 and batch["approval_record_id"]
    for item in batch["items"]:
        assert client.get(f"/api/v1/records/{item['record_id']}/signatures", headers=hoa).json()["all_valid"]


@on_dates("first-of-december", "first-of-august")
def test_a_newcomer_sets_up_a_school_signs_a_month_and_an_inspector_takes_the_evidence(
    client: TestClient, world: World, settings: Settings, server: str, browser: object, tmp_path: Path, clock: datetime
) -> None:
    """The README's first hour, all in the browser: admin, teacher, principal (demo certificate), inspector.

    Run on 1 December (November's plan is signed in December) and on 1 August (a new school year
    has begun: the upload form proposes it, and November's plan falls in the next calendar year)."""
    school_year = calendar.current_school_year()
    november = f"{calendar.year_of_month(school_year, 11)}-11"
    from tests.api.test_cli import hoso, hoso_env
    from tests.factories import lesson_plan_pdf, mp4_bytes

    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "admin1")
    page.get_by_role("link", name="Quản trị", exact=True).click()
    page.get_by_label("Mã trường (theo CSDL ngành, không dấu)").fill("THCS-ND")
    page.get_by_label("Tên trường").fill("Trường THCS Nguyễn Du")
    page.get_by_role("button", name="Thêm trường").click()
    people = [
        ("gv.an", "Lê Văn An", "teacher", "THCS-ND"),
        ("ht.ba", "Trần Thị Ba", "principal", "THCS-ND"),
        ("tt.son", "Phạm Văn Sơn", "inspector", ""),
    ]
    for username, name, role, school in people:
        page.get_by_label("Tên đăng nhập").fill(username)
        page.get_by_label("Họ và tên").fill(name)
        page.get_by_label("Mật khẩu (ít nhất 10 ký tự)").fill(PASSWORD)
        page.get_by_label("Vai trò").select_option(role)
        page.get_by_label("Trường (không dùng cho thanh tra và quản trị)").select_option(school)
        page.get_by_role("button", name="Thêm người dùng").click()
        page.get_by_role("status").wait_for()
    assert page.get_by_role("cell", name="Hiệu trưởng (THCS-ND)").is_visible()
    shot(page, "quan-tri")
    context.close()

    plan, video = tmp_path / "khbd-toan-6.pdf", tmp_path / "tiet-day.mp4"
    plan.write_bytes(lesson_plan_pdf("Kế hoạch bài dạy Toán 6: Phân số bằng nhau"))
    video.write_bytes(mp4_bytes(1024 * 1024))
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "gv.an")
    for kind, title, path, button in (
        ("lesson_plan", "KHBD Toán 6 — Phân số bằng nhau", plan, "Tải lên và nộp duyệt"),
        ("lesson_recording", "Tiết dạy trực tuyến Toán 6A", video, "Chỉ tải lên"),
    ):
        page.get_by_role("link", name="Tải lên").click()
        page.get_by_label("Loại hồ sơ").select_option(kind)
        assert page.get_by_label("Năm học").input_value() == school_year  # the school year that has begun
        page.get_by_label("Tháng").select_option("11")
        page.get_by_label("Môn").select_option("Toán")
        page.get_by_label("Khối").select_option("6")
        page.locator("#file").set_input_files(str(path))
        page.locator("#title-0").fill(title)
        page.get_by_role("button", name=button).click()
        page.get_by_role("link", name=title).click(timeout=60_000)
        page.wait_for_url(f"{server}/ho-so/*")
        if kind == "lesson_plan":  # uploaded and submitted in one go, for November
            assert page.get_by_text(f"Kỳ {november}: phiên bản 1 nộp").is_visible()
            shot(page, "ho-so-nop-duyet")
    context.close()

    p12 = tmp_path / "ht-ba-demo.p12"
    made = hoso(
        settings,
        "demo-cert",
        "--out",
        str(p12),
        "--name",
        "Trần Thị Ba",
        env=hoso_env(settings, HOSO_DEMO_P12_PASSWORD="demo-mat-khau"),
    )
    assert made.returncode == 0, made.stderr
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "ht.ba")
    page.get_by_role("link", name="Duyệt", exact=True).click()
    page.wait_for_url(
        "**/duyet**"
    )  # loaded (wait_until="load"): the queue's script runs before its buttons are pressed
    page.get_by_role("button", name="Chọn duyệt tất cả còn lại").click()
    page.get_by_role("button", name="Lưu quyết định").click()
    # saved: in place by the page's script, or by the plain form's reload if the click came before the
    # script was ready (a loaded machine); either way the decided row shows its badge, and the file is
    # chosen on the page that stays
    page.locator("tr.item .badge-approved").first.wait_for()
    page.locator("input[name=pkcs12]").set_input_files(str(p12))
    page.get_by_label("Mật khẩu tệp .p12").fill("demo-mat-khau")
    page.get_by_role("button", name="Ký duyệt").click()
    page.get_by_label("Đây là chứng thư số của tôi").check()  # her new certificate's first use
    page.locator("input[name=pkcs12]").set_input_files(str(p12))
    page.get_by_label("Mật khẩu tệp .p12").fill("demo-mat-khau")
    page.get_by_role("button", name="Ký duyệt").click()
    page.get_by_text("Đã ký xong").wait_for(timeout=60_000)
    page.get_by_role("link", name="KHBD Toán 6 — Phân số bằng nhau").click()
    assert page.get_by_text("chứng thư THỬ NGHIỆM").first.is_visible()  # a demo signature says so
    shot(page, "ho-so-ky-chung-thu-thu-nghiem")
    page.get_by_role("link", name="Thống kê").click()
    assert page.get_by_role("cell", name="✘ chưa đạt").is_visible()  # one recorded lesson of the two a month
    page.locator("img.chart").wait_for()  # then its image loaded and decoded (a busy machine takes a while)
    loaded = "() => { const i = document.querySelector('img.chart'); return i.complete && i.naturalWidth > 0; }"
    page.wait_for_function(loaded)
    shot(page, "thong-ke")
    page.get_by_role("link", name="Cấp quyền thanh tra").click()
    page.get_by_label("Thanh tra viên").select_option("tt.son")
    page.get_by_label("Số quyết định thanh tra").fill("17/QĐ-PGDĐT")
    page.get_by_label("Năm học (cách nhau bằng dấu phẩy)").fill(school_year)
    page.get_by_label("Hết hạn vào ngày (tối đa một năm)").fill((calendar.today() + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Cấp quyền").click()
    page.get_by_text("Đang hiệu lực").wait_for()
    shot(page, "cap-quyen-thanh-tra")
    context.close()

    index_now(client)
    context = browser.new_context(locale="vi-VN", accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "tt.son")
    assert page.get_by_text("17/QĐ-PGDĐT").is_visible()
    page.get_by_role("link", name="Tìm kiếm").click()
    page.locator("#q").fill("phan so bang nhau")
    page.get_by_role("button", name="Tìm", exact=True).click()
    page.get_by_label("Chọn KHBD Toán 6 — Phân số bằng nhau").check()
    page.get_by_label("Tên gói").fill("Thanh tra KHBD tháng 11/2026 — THCS Nguyễn Du")
    shot(page, "tim-kiem-chon-xuat")
    with page.expect_download(timeout=90_000) as downloading:  # the package just asked for comes by itself
        page.get_by_role("button", name="Xuất các hồ sơ đã chọn").click()
    page.get_by_text("SHA-256 khớp").wait_for()
    shot(page, "goi-chung-cu")
    fingerprint = page.locator(".seal-fingerprint").first.inner_text()  # the seal the archive publishes
    saved = tmp_path / "evidence.zip"
    downloading.value.save_as(saved)
    context.close()
    verified = hoso(settings, "verify", "--seal-fingerprint", fingerprint, str(saved))
    assert verified.returncode == 0 and "HỢP LỆ / VALID" in verified.stdout, verified.stdout + verified.stderr
    assert hoso(settings, "verify", str(saved)).returncode == 1  # without it: NOT PROVEN


def test_the_english_switch_in_the_browser(client: TestClient, world: World, server: str, browser: object) -> None:
    context = browser.new_context(locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server}/dang-nhap")
    page.get_by_role("link", name="English").click()
    page.get_by_label("Username").fill("gv.lan")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server}/trang-chu")
    assert page.get_by_role("heading", name="My recent records").is_visible()
    shot(page, "trang-chu-tieng-anh")
    page.get_by_role("link", name="Upload").click()
    page.get_by_role("button", name="Upload only").click()  # nothing chosen: the script answers in English too
    page.locator("#loi-file", has_text=re.compile(r"\S")).wait_for()
    assert page.locator("#loi-file").inner_text() == "Choose or drop at least one file."
    page.get_by_role("link", name="Change password").click()
    page.get_by_role("button", name="Change password").click()
    assert page.get_by_role("alert").first.is_visible()  # refused in English, next to the field
    shot(page, "doi-mat-khau-tieng-anh")
    page.get_by_role("link", name="Tiếng Việt").click()
    page.get_by_role("heading", name="Đổi mật khẩu").wait_for()
    context.close()


def test_the_archivist_and_the_principal_keep_and_destroy_lawfully_in_the_browser(
    client: TestClient, due: dict[str, str], pki: TestPKI, server: str, browser: object, tmp_path: Path
) -> None:
    """Schedule edited with a reason, a hold placed and released, the four destruction steps, a fixity run.

    Two schools here, so the schedule is the system administrator's; THA's archivist keeps the rest."""
    keeper = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = keeper.new_page()
    log_in(page, server, "admin1")
    page.goto(f"{server}/luu-tru")
    plans = page.get_by_role("cell", name="Kế hoạch bài dạy (giáo án)", exact=True)
    row = page.locator("details", has=page.locator('form[action="/luu-tru/thoi-han/lesson_plan"]'))  # the term's
    assert page.locator("tr", has=plans).locator("details").count() == 2  # the term, and the scan rule beside it
    row.locator("summary").click()
    row.get_by_label("Số năm (2–70)").fill("12")
    row.get_by_role("button", name="Lưu thời hạn").click()
    assert row.get_by_role("alert").is_visible() and row.get_by_label("Số năm (2–70)").input_value() == "12"
    row.get_by_label("Lý do", exact=True).fill("Theo hướng dẫn của Sở")
    row.get_by_label("Căn cứ pháp lý").fill("CV 1234/SGDĐT")
    row.get_by_role("button", name="Lưu thời hạn").click()
    page.get_by_role("status").wait_for()
    keeper.close()
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "lt.mai")
    page.get_by_role("link", name="Lưu trữ", exact=True).click()
    assert page.get_by_role("heading", name="Xem xét hủy (2)").is_visible()
    assert page.get_by_text("quản trị viên hệ thống sửa khi cần").is_visible()
    assert page.get_by_text("Sửa thời hạn").count() == 0  # she reads the schedule, the keeper's 12 years in it
    shot(page, "luu-tru")
    page.get_by_label("Lý do phong tỏa").fill("Thanh tra hồ sơ năm 2000-2001")
    page.get_by_label("Năm học", exact=True).fill("2000-2001")
    page.get_by_role("button", name="Phong tỏa", exact=True).click()
    page.get_by_label("Lý do giải tỏa").fill("Kết thúc thanh tra")
    page.get_by_role("button", name="Giải tỏa").click()
    page.get_by_text("Đã giải tỏa").wait_for()
    for record_id in (due["a"], due["b"]):
        page.locator(f"#huy-{record_id}").check()
    page.get_by_label("Thuyết minh (vì sao các hồ sơ này hết giá trị)").fill("Hết thời hạn bảo quản")
    page.get_by_role("button", name="Lập danh mục hồ sơ đề nghị hủy").click()
    page.wait_for_url(f"{server}/luu-tru/huy/*")
    destruction = page.url
    page.get_by_label("Thành viên (mỗi dòng một người: Họ tên — chức vụ; ít nhất 3 người)").fill(
        "Trần Văn Hòa — Hiệu trưởng\nLê Thị Mai — Lưu trữ\nPhạm Văn Ba — Kế toán"
    )
    page.get_by_label("Quyết định thành lập Hội đồng").fill("12/QĐ-THA")
    page.get_by_label("Nội dung họp").fill("Hội đồng xem xét danh mục, thống nhất đề nghị hủy.")
    page.get_by_role("button", name="Ghi biên bản Hội đồng").click()
    page.get_by_text("Hội đồng đồng ý, chờ quyết định").wait_for()
    context.close()

    p12 = tmp_path / "ht.p12"
    p12.write_bytes(pki.pkcs12("principal"))
    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "ht.hoa")
    page.goto(destruction)
    page.get_by_label("Số quyết định").fill("05/QĐ-THA")
    page.get_by_label("Tệp chữ ký số .p12 để ký quyết định (nên có)").set_input_files(str(p12))
    page.get_by_label("Mật khẩu tệp .p12").fill("mat-khau-p12")
    page.get_by_role("button", name="Ghi quyết định").click()
    page.get_by_label("Đây là chứng thư số của tôi").check()  # the first use of her certificate, confirmed
    page.get_by_label("Tệp chữ ký số .p12 để ký quyết định (nên có)").set_input_files(str(p12))
    page.get_by_label("Mật khẩu tệp .p12").fill("mat-khau-p12")
    page.get_by_role("button", name="Ghi quyết định").click()
    page.get_by_text("Đã có quyết định, chờ thực hiện hủy").wait_for(timeout=30_000)
    shot(page, "huy-quyet-dinh")
    context.close()

    context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, server, "lt.mai")
    page.goto(destruction)
    page.get_by_role("button", name="Thực hiện hủy").click()
    assert page.get_by_text("Đánh dấu ô xác nhận trước khi hủy").is_visible()  # nothing destroyed unconfirmed
    page.get_by_label("Tôi xác nhận thực hiện hủy theo quyết định trên").check()
    page.get_by_role("button", name="Thực hiện hủy").click()
    page.get_by_text("Trạng thái: Đã hủy").wait_for()
    assert page.get_by_role("link", name="Biên bản hủy").is_visible()
    shot(page, "huy-da-thuc-hien")
    page.goto(f"{server}/luu-tru")
    page.get_by_role("button", name="Kiểm tra ngay").click()
    for _ in range(240):
        if page.get_by_text("✔ Toàn vẹn").count():
            break
        time.sleep(0.5)
        page.reload()
    assert page.get_by_text("✔ Toàn vẹn").first.is_visible()
    shot(page, "luu-tru-toan-ven")
    context.close()
