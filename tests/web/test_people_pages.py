"""The administrator's people pages over HTTP: edit, disable, reset a password, roles; the staff-list import."""

from __future__ import annotations

import csv
import html
import io
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.models import Person
from tests.archive.test_staff_import import FIVE, HEADER, xlsx
from tests.factories import PASSWORD, World
from tests.web.test_admin_pages import post_form
from tests.web.test_pages_http import csrf_of, page_login
from tests.web.test_plain_words import codes, visible

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def count_people(session: Session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(Person)) or 0


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, page[:800]
    return html.unescape(found.group(1))


def preview(client: TestClient, data: bytes, name: str = "ds.xlsx", school: str = "THA"):  # type: ignore[no-untyped-def]
    page = client.get("/quan-tri").text
    form = page[page.index('action="/quan-tri/nhap-danh-sach"') :]  # that form's own token (a macro must get it)
    return client.post(
        "/quan-tri/nhap-danh-sach",
        data={"csrf_token": csrf_of(form), "school_code": school},
        files={"file": (name, data, XLSX)},
    )


def test_an_admin_imports_a_staff_list_from_preview_to_passwords(
    client: TestClient, world: World, session: Session
) -> None:
    page_login(client, "admin1")
    rows = [HEADER, *FIVE, ["Trùng", "gv.lan", "Giáo viên", "", ""]]
    shown = preview(client, xlsx(rows))
    assert shown.status_code == 200, shown.text[:500]
    assert "Lê Văn An" in shown.text and "Tổ trưởng chuyên môn" in shown.text and "Bị từ chối" in shown.text
    assert 'Dòng 7, cột "Tên đăng nhập"' in html.unescape(shown.text)
    assert not codes(session).findall(visible(shown.text))  # roles by their Vietnamese names, no code
    before = count_people(session)
    confirm = {
        "csrf_token": csrf_of(shown.text),
        "school_code": "THA",
        "lines": hidden(shown.text, "lines"),
        "columns": hidden(shown.text, "columns"),
    }
    ticked = {**confirm, "include": ["2", "3", "4", "5", "6", "7"]}  # the refused row 7 ticked by hand
    refused = client.post("/quan-tri/nhap-danh-sach/xac-nhan", data=ticked)
    assert refused.status_code == 422 and "Chưa nhập ai" in refused.text and count_people(session) == before
    done = client.post("/quan-tri/nhap-danh-sach/xac-nhan", data={**confirm, "include": ["2", "3", "4", "5", "6"]})
    assert done.status_code == 201 and done.headers["cache-control"] == "no-store"
    passwords = re.findall(r'<code class="mono">([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>', done.text)
    assert len(passwords) == 5 and count_people(session) == before + 5
    assert not codes(session).findall(visible(done.text))
    again = client.post("/quan-tri/nhap-danh-sach/xac-nhan", data={**confirm, "include": ["2"]})
    assert again.status_code == 422 and "đã có người dùng" in again.text  # a re-post makes nobody twice
    sheet = client.post(
        "/quan-tri/nhap-danh-sach/mat-khau.csv",
        data={"csrf_token": csrf_of(done.text), "accounts": hidden(done.text, "accounts")},
    )
    assert sheet.status_code == 200 and "attachment" in sheet.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert table[1] == ["Lê Văn An", "gv.an", passwords[0]] and len(table) == 6
    client.cookies.clear()
    assert page_login(client, "gv.an", passwords[0]).headers["location"] == "/doi-mat-khau"


def test_refused_files_come_back_to_the_form_with_the_reason(client: TestClient, world: World) -> None:
    page_login(client, "admin1")
    tcvn3 = "Hä vµ tªn,Tªn ®¨ng nhËp,Vai trß\n".encode("latin-1")
    wrong = preview(client, tcvn3, "ds.csv")
    assert wrong.status_code == 415 and 'id="loi-ds-file"' in wrong.text and "CSV UTF-8" in wrong.text
    missing = preview(client, xlsx([["Họ và tên"], ["An"]]))
    assert missing.status_code == 422 and "thiếu cột" in missing.text
    nothing = client.post(
        "/quan-tri/nhap-danh-sach", data={"csrf_token": csrf_of(client.get("/quan-tri").text), "school_code": ""}
    )
    assert (
        nothing.status_code == 422 and 'id="loi-ds-school_code"' in nothing.text and 'id="loi-ds-file"' in nothing.text
    )
    for kind in ("xlsx", "csv"):
        template = client.get(f"/quan-tri/nhap-danh-sach/mau.{kind}")
        assert template.status_code == 200
        back = preview(client, template.content, f"mau.{kind}")
        assert back.status_code == 200 and "Lê Thị Lan" in back.text  # the template reads back as a list
    client.cookies.clear()
    page_login(client, "gv.lan")
    assert client.get("/quan-tri/nhap-danh-sach").status_code == 403


def test_edit_disable_reenable_reset_and_roles_of_a_person(client: TestClient, world: World, session: Session) -> None:
    lan = TestClient(client.app)
    page_login(lan, "gv.lan")
    assert lan.get("/trang-chu").status_code == 200
    page_login(client, "admin1")
    page = f"/quan-tri/nguoi-dung/{world.teacher.id}"
    edited = post_form(client, page, f"{page}/thong-tin", {"full_name": "Lê Thị Lan", "email": "lan@tha.edu.vn"})
    assert edited.status_code == 303 and "Lê Thị Lan" in client.get(page).text
    bad = post_form(client, page, f"{page}/thong-tin", {"full_name": " ", "email": "khong-co"})
    assert bad.status_code == 422 and 'value="khong-co"' in bad.text

    assert post_form(client, page, f"{page}/trang-thai", {"active": "0"}).status_code == 303
    assert lan.get("/trang-chu", follow_redirects=False).status_code == 303  # her open session ended at once
    assert page_login(TestClient(client.app), "gv.lan").status_code != 303
    assert "Đã khóa" in client.get("/quan-tri").text
    assert post_form(client, page, f"{page}/trang-thai", {"active": "1"}).status_code == 303
    assert page_login(TestClient(client.app), "gv.lan").headers["location"] == "/trang-chu"

    reset = post_form(client, page, f"{page}/dat-lai-mat-khau", {})
    assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
    new = re.search(r'<code class="mono">([a-z2-9-]{14})</code>', reset.text)
    assert new and new.group(1) not in client.get(page).text  # shown once
    assert not codes(session).findall(visible(reset.text))
    assert page_login(TestClient(client.app), "gv.lan", PASSWORD).status_code != 303
    assert page_login(TestClient(client.app), "gv.lan", new.group(1)).headers["location"] == "/doi-mat-khau"

    added = post_form(client, page, f"{page}/vai-tro", {"role": "department_head", "school_code": "THA"})
    assert added.status_code == 303 and "Tổ trưởng chuyên môn" in client.get(page).text
    no_school = post_form(client, page, f"{page}/vai-tro", {"role": "principal", "school_code": ""})
    assert no_school.status_code == 422 and "Chọn trường" in no_school.text
    inspector_at = post_form(client, page, f"{page}/vai-tro", {"role": "inspector", "school_code": "THA"})
    assert inspector_at.status_code == 422 and "Thanh tra không gắn với trường" in inspector_at.text
    membership = next(m for m in client.get(f"/api/v1/people/{world.teacher.id}").json()["memberships"])
    assert post_form(client, page, f"/quan-tri/vai-tro/{membership['id']}/xoa", {}).status_code == 303


def test_an_admin_cannot_lock_themselves_out(client: TestClient, world: World) -> None:
    page_login(client, "admin1")
    page = f"/quan-tri/nguoi-dung/{world.admin.id}"
    assert "disabled" in client.get(page).text.split("Khóa tài khoản")[0][-300:]
    own = post_form(client, page, f"{page}/trang-thai", {"active": "0"})
    assert own.status_code == 422 and "Không thể tự khóa" in own.text
    admin_role = client.get(f"/api/v1/people/{world.admin.id}").json()["memberships"][0]["id"]
    last = post_form(client, page, f"/quan-tri/vai-tro/{admin_role}/xoa", {})
    assert last.status_code == 409 and "quản trị viên cuối cùng" in last.text
    assert json.loads(client.get(f"/api/v1/people/{world.admin.id}").text)["active"]


def test_a_full_list_of_the_most_rows_a_file_may_hold_is_confirmed_in_one_post(
    client: TestClient, world: World, session: Session
) -> None:
    from archive.staff.sheet import MAX_ROWS

    page_login(client, "admin1")
    rows = [[f"Giáo viên {n}", f"gv.so{n}", "Giáo viên", "", ""] for n in range(MAX_ROWS)]
    shown = preview(client, xlsx([HEADER, *rows]))
    assert shown.status_code == 200 and shown.text.count('name="include"') == MAX_ROWS
    before = count_people(session)
    done = client.post(
        "/quan-tri/nhap-danh-sach/xac-nhan",
        data={
            "csrf_token": csrf_of(shown.text),
            "school_code": "THA",
            "lines": hidden(shown.text, "lines"),
            "columns": hidden(shown.text, "columns"),
            "include": [str(n) for n in range(2, MAX_ROWS + 2)],
        },
    )
    assert done.status_code == 201, done.text[:300]
    assert count_people(session) == before + MAX_ROWS
    too_many = preview(client, xlsx([HEADER, *rows, ["Một người nữa", "gv.them", "Giáo viên"]]))
    assert too_many.status_code == 413 and f"hơn {MAX_ROWS} dòng" in too_many.text
