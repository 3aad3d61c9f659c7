"""A Phòng GDĐT with three schools, walked in a real browser (issue #17 "Done when"), every action counted.

The Phòng's administrator adds three schools with their principals on the unit page; the Phòng's
head grants the Phòng's inspector all three under one decision; the inspector searches and finds
plans of all three, then reads the month per school on the dashboard; a principal of one school,
at their first login, is refused a sibling school's record. Each click, field entry, choice and
typed address counts one (as in tests/web/test_admin_browser.py); the plans are seeded through the
API in between, as the schools' teachers would upload them. Pages that only a form's answer shows
(the one-time password, the refusal) are checked by axe-core here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from archive import calendar, service, units
from archive.models import Role, UnitKind, UnitRole
from archive.schemas import PersonCreate
from archive.unit_schemas import UnitCreate, UnitPersonCreate
from tests import factories
from tests.factories import PASSWORD, World, login
from tests.search.test_search_api import index_now
from tests.signing.conftest import submit, upload_plan
from tests.signing.test_hierarchy import first_login
from tests.web import test_browser
from tests.web.test_accessibility import violations
from tests.web.test_admin_browser import Counted
from tests.web.test_browser import shot

browser, server = test_browser.browser, test_browser.server  # the browser walk's fixtures, shared

SCHOOLS = (
    ("TBA", "Trường TH Bàu Hàm", "Lê Văn Hùng", "ht.bauham"),
    ("TBB", "Trường TH Sông Trầu", "Phạm Thị Thu", "ht.songtrau"),
    ("TBC", "Trường TH Cây Gáo", "Đỗ Minh Quân", "ht.caygao"),
)
YEAR = "2026-2027"  # the pinned clock's school year: the grant form's own default
BUDGET = 40  # the count of this walk; a change to the pages that costs a person more fails here
OTP = re.compile(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}")


def the_phong(session: Session) -> None:
    """Phòng PGD-TB under Sở SGD-DN, its administrator, head and inspector (set up by the system admin)."""
    units.create_unit(session, None, UnitCreate(kind=UnitKind.so, code="SGD-DN", name="Sở GDĐT Đồng Nai"))
    phong = UnitCreate(kind=UnitKind.phong, code="PGD-TB", name="Phòng GDĐT Trảng Bom", parent_code="SGD-DN")
    units.create_unit(session, None, phong)
    for username, name, role in (
        ("pgd.qt", "Trần Quản Trị", UnitRole.admin),
        ("pgd.tp", "Ngô Trưởng Phòng", UnitRole.head),
        ("pgd.tt", "Vũ Thanh Tra", UnitRole.inspector),
    ):
        service.create_person(session, None, PersonCreate(username=username, full_name=name, password=PASSWORD))
        units.add_person(session, None, "PGD-TB", UnitPersonCreate(username=username, role=role))
    session.commit()


def log_in(act: Counted, server: str, username: str, password: str = PASSWORD) -> None:
    act.page.goto(f"{server}/dang-nhap")
    act.fill("Tên đăng nhập", username)
    act.fill("Mật khẩu", password)
    act.click("button", "Đăng nhập")


def plans(client: TestClient, session: Session, passwords: dict[str, str]) -> dict[str, str]:
    """A teacher per school uploads and submits plans (TBA two, the others one); TBB's principal returns
    theirs. Returns a record id per school."""
    records: dict[str, str] = {}
    batches: dict[str, str] = {}
    for code, _name, _principal, _username in SCHOOLS:
        factories.person(session, f"gv.{code.lower()}", Role.teacher, code)
    session.commit()
    for code, count in (("TBA", 2), ("TBB", 1), ("TBC", 1)):
        teacher = login(client, f"gv.{code.lower()}")
        for n in range(count):
            title = f"Kế hoạch bài dạy Toán {code} tiết {n + 1}"
            record = upload_plan(client, teacher, title, school_code=code, school_year=YEAR)
            batches[code] = submit(client, teacher, record["id"])["batch_id"]
            records.setdefault(code, record["id"])
    principal = first_login(client, "ht.songtrau", passwords["ht.songtrau"])
    items = client.get(f"/api/v1/approvals/{batches['TBB']}", headers=principal).json()["items"]
    decision = {"decisions": [{"item_id": items[0]["id"], "decision": "returned", "comment": "Bổ sung mục tiêu"}]}
    answer = client.post(f"/api/v1/approvals/{batches['TBB']}/decisions", headers=principal, json=decision)
    assert answer.is_success, answer.text
    index_now(client)
    return records


def test_a_phong_sets_up_three_schools_grants_its_inspector_and_keeps_schools_apart(
    client: TestClient, world: World, session: Session, server: str, browser: Any
) -> None:
    the_phong(session)
    context = browser.new_context(locale="vi-VN", bypass_csp=True)  # axe-core is injected as a script
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    act, counts, found = Counted(page), {}, []

    # 1. the Phòng's administrator: three schools, each with its first principal
    log_in(act, server, "pgd.qt")
    act.click("link", "Đơn vị")
    page.wait_for_url(f"{server}/don-vi/PGD-TB")
    passwords = {}
    for code, name, principal, username in SCHOOLS:
        act.fill("Mã trường (theo CSDL ngành, không dấu)", code)
        act.fill("Tên trường", name)
        act.fill("Họ và tên hiệu trưởng", principal)
        act.fill("Tên đăng nhập của hiệu trưởng", username)
        act.click("button", "Thêm trường")
        shown = page.locator("#mat-khau-mot-lan")
        shown.wait_for()
        assert username in shown.inner_text()
        passwords[username] = OTP.findall(shown.inner_text())[0]
    shot(page, "don-vi-mat-khau-hieu-truong")
    found += violations(page)
    counts["admin"] = act.count
    context.close()

    records = plans(client, session, passwords)

    # 2. the Phòng's head grants the Phòng's inspector every school of the Phòng
    context = browser.new_context(locale="vi-VN", bypass_csp=True)
    act = Counted(page := context.new_page())
    log_in(act, server, "pgd.tp")
    page.locator("#noi-dung").get_by_role("link", name="Cấp quyền thanh tra").click()  # the home page's own
    act.count += 1
    act.fill("Số quyết định thanh tra", "12/QĐ-PGDĐT")
    act.fill("Hết hạn vào ngày (tối đa một năm)", (calendar.today() + timedelta(days=90)).isoformat())
    act.click("button", "Cấp quyền")
    page.wait_for_url(f"{server}/cap-quyen-thanh-tra")
    granted = page.locator("table").inner_text()
    assert "12/QĐ-PGDĐT" in granted and all(name in granted for _c, name, _p, _u in SCHOOLS)
    found += violations(page)
    counts["head"] = act.count
    context.close()

    # 3. the inspector finds plans of all three schools, then reads the month per school
    context = browser.new_context(locale="vi-VN", bypass_csp=True)
    act = Counted(page := context.new_page())
    log_in(act, server, "pgd.tt")
    act.fill("Tìm hồ sơ (gõ có dấu hoặc không dấu)", "ke hoach bai day toan")
    act.click("button", "Tìm")
    page.wait_for_url(re.compile(r"/tim-kiem\?"))
    hits = page.locator("main").inner_text()
    assert all(f"Toán {code}" in hits for code, *_ in SCHOOLS), hits[:2000]
    act.click("link", "Tổng hợp")
    page.wait_for_url(re.compile(r"/tong-hop"))
    rows = {code: page.locator("tr", has_text=name).inner_text() for code, name, *_ in SCHOOLS}
    shot(page, "tong-hop-phong-ba-truong")
    assert re.search(r"Bàu Hàm\s+2\s+0\s+0\s+2\s+0\s+chưa ký", rows["TBA"]), rows["TBA"]
    assert re.search(r"Sông Trầu\s+1\s+0\s+1\s+0\s+0\s+chưa ký", rows["TBB"]), rows["TBB"]
    assert re.search(r"Cây Gáo\s+1\s+0\s+0\s+1\s+0\s+chưa ký", rows["TBC"]), rows["TBC"]
    counts["inspector"] = act.count
    context.close()

    # 4. a principal, at their first login, opens a sibling school's record: refused
    context = browser.new_context(locale="vi-VN", bypass_csp=True)
    act = Counted(page := context.new_page())
    log_in(act, server, "ht.bauham", passwords["ht.bauham"])
    page.wait_for_url(f"{server}/doi-mat-khau")
    act.fill("Mật khẩu hiện tại", passwords["ht.bauham"])
    act.fill("Mật khẩu mới (ít nhất 10 ký tự)", PASSWORD)
    act.fill("Nhập lại mật khẩu mới", PASSWORD)
    act.click("button", "Đổi mật khẩu")
    page.wait_for_url(f"{server}/trang-chu")
    answer = page.goto(f"{server}/ho-so/{records['TBB']}")
    act.count += 1  # the address typed (or a link pasted from elsewhere)
    assert answer is not None and answer.status == 403
    assert "Bạn không có quyền" in page.locator("main").inner_text()
    found += violations(page)
    shot(page, "ho-so-truong-ban-bi-tu-choi")
    own = page.goto(f"{server}/ho-so/{records['TBA']}")  # their own school's: open
    assert own is not None and own.status == 200
    counts["principal"] = act.count
    context.close()

    total = sum(counts.values())
    print(f"\nPhòng walk: {total} actions ({counts}); budget {BUDGET}")
    assert total <= BUDGET and not errors, (counts, errors)
    assert not found, "\n".join(found)
