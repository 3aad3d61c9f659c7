"""The principal's month in the browser, counted: 39 plans looked at one by one, decided, then signed.

Issue #15 measured ≈87 actions for this job on the old page (each preview a new tab, a radio per row,
then a second page to sign); the goal is ≤ 50 and no new tab. Every click, key press and field entry
counts one; the count is printed and asserted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, World, lesson_plan_pdf, login
from tests.pki import TestPKI
from tests.signing.conftest import submit, upload_plan
from tests.web.test_browser import SHOTS, browser, server, settings, shot  # noqa: F401  (the browser fixtures)

PLANS = 39
RETURNED = 17  # the one plan sent back, somewhere in the middle


class Counted:
    """The page, with every action a person takes counted."""

    def __init__(self, page: Any) -> None:
        self.page, self.actions = page, 0

    def fill(self, locator: Any, text: str) -> None:
        self.actions += 1
        locator.fill(text)

    def click(self, locator: Any) -> None:
        self.actions += 1
        locator.click()

    def press(self, key: str) -> None:
        self.actions += 1
        self.page.keyboard.press(key)

    def choose_file(self, locator: Any, path: Path) -> None:
        self.actions += 1
        locator.set_input_files(str(path))


def test_the_principal_reviews_39_plans_beside_the_viewer_and_signs_in_at_most_50_actions(
    client: TestClient,
    world: World,
    pki: TestPKI,
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    tmp_path: Path,
    principal_certificate: None,
) -> None:
    lan = login(client, "gv.lan")
    titles = [f"KHBD {n:02d} — Toán 5: Phân số, bài {n}" for n in range(1, PLANS + 1)]
    batch_id = ""
    for title in titles:
        record = upload_plan(client, lan, title, lesson_plan_pdf(title, pages=2))
        batch_id = submit(client, lan, record["id"])["batch_id"]
    p12 = tmp_path / "hieu-truong.p12"
    p12.write_bytes(pki.pkcs12("principal"))

    context = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    page = context.new_page()
    opened: list[object] = []
    context.on("page", lambda new: opened.append(new))  # any tab or window the review opens
    user = Counted(page)
    page.goto(f"{server}/dang-nhap")
    user.fill(page.get_by_label("Tên đăng nhập"), "ht.hoa")
    user.fill(page.get_by_label("Mật khẩu"), PASSWORD)
    user.click(page.get_by_role("button", name="Đăng nhập"))
    page.wait_for_url(f"{server}/trang-chu")
    user.click(page.get_by_role("link", name="Duyệt", exact=True))

    viewer = page.locator(".viewer")
    page.get_by_text("Phím tắt").wait_for()  # the shortcuts are shown on the page (by the script)
    for n, title in enumerate(titles, start=1):
        viewer.locator(".viewer-title", has_text=title).wait_for()  # each plan is looked at ...
        viewer.locator("img.loaded[alt='Trang 1 / 2']").wait_for()  # ... its first page shown
        if n == 2:
            page.screenshot(path=str(SHOTS / "duyet-khong-gian.png"))  # what she sees: the viewport
        if n == RETURNED:
            user.press("r")
            user.fill(page.locator("tr.item.current input[name^='c-']"), "Bổ sung phần đánh giá học sinh")
            user.press("Enter")
        else:
            user.press("a")
    dock = page.locator("form.sign")
    assert dock.get_by_text("38 duyệt, 1 trả lại — ký bằng Tệp chữ ký số (.p12/.pfx) · đã xem 39/39").is_visible()
    shot(page, "duyet-tom-tat-truoc-khi-ky")

    user.choose_file(page.locator("input[name=pkcs12]"), p12)
    user.fill(page.get_by_label("Mật khẩu tệp .p12"), "mat-khau-p12")
    user.click(page.get_by_role("button", name="Ký duyệt"))  # the choices are saved, then the month signed
    page.get_by_text("Đã ký xong").wait_for(timeout=120_000)
    shot(page, "duyet-da-ky")
    print(f"\nprincipal, {PLANS} plans looked at, decided and signed: {user.actions} actions, {len(opened)} new tabs")
    assert user.actions <= 50, user.actions
    assert not opened, "the review opened a new tab or window"
    context.close()

    hoa = login(client, "ht.hoa")
    batch = client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()
    assert batch["state"] == "signed" and batch["counts"]["signed"] == PLANS - 1
    returned = [i for i in batch["items"] if i["decision"] == "returned"]
    assert [(i["title"], i["comment"]) for i in returned] == [(titles[RETURNED - 1], "Bổ sung phần đánh giá học sinh")]
