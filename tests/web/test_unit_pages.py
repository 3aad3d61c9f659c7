"""A Phòng GDĐT set up on its own page (issue #17 item 3): its administrator adds schools with their first
principal and people with one-time passwords, refused forms keep every value with the message beside
the field, moving an existing school is the system administrator's alone, and the Phòng's head grants
its inspector the Phòng's schools on the grant page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import calendar
from archive.models import School
from tests.factories import World, login
from tests.signing.test_hierarchy import first_login, post
from tests.web.test_admin_pages import post_form
from tests.web.test_pages_http import page_login

UNIT = "/don-vi/PGD-TB"
OTP = re.compile(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}")


def phong(client: TestClient) -> None:
    """Sở SGD-DN and its Phòng PGD-TB, whose administrator pgd.qt and head pgd.tp have signed in once."""
    admin = login(client, "admin1")
    post(client, admin, "/api/v1/units", {"kind": "so", "code": "SGD-DN", "name": "Sở GDĐT Đồng Nai"})
    body = {"kind": "phong", "code": "PGD-TB", "name": "Phòng GDĐT Trảng Bom", "area": "Trảng Bom"}
    post(client, admin, "/api/v1/units", body | {"parent_code": "SGD-DN"})
    for username, role in (("pgd.qt", "admin"), ("pgd.tp", "head")):
        made = post(
            client, admin, "/api/v1/units/PGD-TB/people", {"username": username, "role": role, "full_name": username}
        )
        first_login(client, username, made["one_time_password"])


def school_form(**changes: str) -> dict[str, str]:
    form = {
        "school_code": "TBA",
        "name": "Trường TH Bàu Hàm",
        "principal_full_name": "Lê Văn Hùng",
        "principal_username": "ht.bauham",
    }
    return form | changes


def test_the_unit_admin_adds_a_school_with_its_principal_and_refusals_keep_the_form(
    client: TestClient, world: World, session: Session
) -> None:
    phong(client)
    page_login(client, "pgd.qt")
    assert client.get("/don-vi", follow_redirects=False).headers["location"] == UNIT  # one unit: its page
    page = client.get(UNIT)
    assert page.status_code == 200 and "Phòng GDĐT Trảng Bom" in page.text and "Thêm trường" in page.text
    assert "Đưa trường có sẵn vào đơn vị" not in page.text  # moving a school: the system admin's
    made = post_form(client, UNIT, f"{UNIT}/truong", school_form())
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    password = OTP.findall(made.text)
    assert len(password) == 1 and "ht.bauham" in made.text and "Lê Văn Hùng" in made.text
    again = client.get(UNIT)
    assert not OTP.findall(again.text) and "Trường TH Bàu Hàm" in again.text and "chưa nộp" in again.text

    twice = post_form(client, UNIT, f"{UNIT}/truong", school_form(name="Trùng mã", principal_username="ht.khac"))
    assert twice.status_code == 409 and 'id="loi-truong-school_code"' in twice.text and "Đã có trường" in twice.text
    assert 'value="Trùng mã"' in twice.text and 'value="ht.khac"' in twice.text
    taken = post_form(client, UNIT, f"{UNIT}/truong", school_form(school_code="TBB", principal_username="gv.lan"))
    assert taken.status_code == 409 and 'id="loi-truong-principal_username"' in taken.text
    bad = post_form(client, UNIT, f"{UNIT}/truong", school_form(school_code="có dấu", principal_username="x"))
    assert bad.status_code == 422 and 'id="loi-truong-school_code"' in bad.text
    assert 'id="loi-truong-principal_username"' in bad.text and 'value="có dấu"' in bad.text
    nameless = post_form(client, UNIT, f"{UNIT}/truong", school_form(school_code="TBC", principal_full_name=""))
    assert nameless.status_code == 422 and 'id="loi-truong-principal_full_name"' in nameless.text
    session.commit()
    # nothing half-stored: neither TBB (its principal's name was taken) nor TBC exists
    assert session.scalar(select(func.count()).select_from(School).where(School.code.in_(["TBB", "TBC"]))) == 0

    # the principal's first login takes the one-time password to the password change
    client.cookies.clear()
    assert page_login(client, "ht.bauham", password[0]).headers["location"] == "/doi-mat-khau"


def test_the_unit_admin_adds_people_and_only_the_system_admin_attaches_a_school(
    client: TestClient, world: World, session: Session
) -> None:
    phong(client)
    page_login(client, "pgd.qt")
    person = {"full_name": "Nguyễn Thanh Tra", "username": "pgd.tt", "role": "inspector"}
    made = post_form(client, UNIT, f"{UNIT}/nguoi", person)
    assert made.status_code == 201 and len(OTP.findall(made.text)) == 1 and "Thanh tra đơn vị" in made.text
    twice = post_form(client, UNIT, f"{UNIT}/nguoi", person)
    assert twice.status_code == 409 and 'id="loi-nguoi-role"' in twice.text and 'value="Nguyễn Thanh Tra"' in twice.text
    unknown = post_form(client, UNIT, f"{UNIT}/nguoi", {**person, "username": "chua.co", "full_name": ""})
    assert unknown.status_code == 422 and 'id="loi-nguoi-full_name"' in unknown.text
    roleless = post_form(client, UNIT, f"{UNIT}/nguoi", {**person, "username": "ai.do", "role": ""})
    assert roleless.status_code == 422 and "Chọn vai trò ở đơn vị" in roleless.text
    existing = post_form(client, UNIT, f"{UNIT}/nguoi", {"username": "gv.lan", "full_name": "", "role": "inspector"})
    assert existing.status_code == 201 and not OTP.findall(existing.text) and "đã có" in existing.text
    # the head grants access to every school of the unit: its administrator does not name them (nor is offered to)
    assert 'value="head"' not in client.get(UNIT).text
    head = post_form(client, UNIT, f"{UNIT}/nguoi", {"username": "gv.minh", "full_name": "", "role": "head"})
    assert head.status_code == 403 and "chỉ định" in head.text
    # a role taken back from the same list: the head's row has no button for the unit's own administrator
    page = client.get(UNIT).text
    assert 'aria-label="Thu hồi vai trò Thanh tra đơn vị của Gv.Lan"' in page
    assert 'name="username" value="pgd.tp"><input type="hidden" name="role" value="head"' not in page
    taken = post_form(client, UNIT, f"{UNIT}/nguoi/thu-hoi", {"username": "gv.lan", "role": "inspector"})
    assert taken.status_code == 200 and "Đã thu hồi vai trò Thanh tra đơn vị của gv.lan." in taken.text
    unknown_role = post_form(client, UNIT, f"{UNIT}/nguoi/thu-hoi", {"username": "pgd.tt", "role": "chief"})
    assert unknown_role.status_code == 422 and "Chọn vai trò ở đơn vị" in unknown_role.text
    again = post_form(client, UNIT, f"{UNIT}/nguoi/thu-hoi", {"username": "gv.lan", "role": "inspector"})
    assert again.status_code == 404 and "không có vai trò đó" in again.text
    head_back = post_form(client, UNIT, f"{UNIT}/nguoi/thu-hoi", {"username": "pgd.tp", "role": "head"})
    assert head_back.status_code == 403 and "chỉ định" in head_back.text
    refused = post_form(client, UNIT, f"{UNIT}/gan-truong", {"attach_code": "THB"})
    assert refused.status_code == 403 and "quản trị hệ thống" in refused.text
    session.commit()
    assert session.scalar(select(School.unit_id).where(School.code == "THB")) is None

    client.cookies.clear()
    page_login(client, "admin1")
    assert "Đưa trường có sẵn vào đơn vị" in client.get(UNIT).text
    empty = post_form(client, UNIT, f"{UNIT}/gan-truong", {"attach_code": ""})
    assert empty.status_code == 422 and 'id="loi-gan-attach_code"' in empty.text
    assert post_form(client, UNIT, f"{UNIT}/gan-truong", {"attach_code": "THB"}).status_code == 303
    assert "Trường Tiểu học Bình Minh" in client.get(UNIT).text
    # the Sở's page lists its Phòng; its administrator (the system admin here) adds another
    so = "/don-vi/SGD-DN"
    assert "Phòng GDĐT Trảng Bom" in client.get(so).text
    bad = post_form(client, so, f"{so}/phong", {"phong_code": "PGD-TB", "phong_name": "Trùng", "area": ""})
    assert bad.status_code == 409 and 'id="loi-phong-phong_code"' in bad.text and 'value="Trùng"' in bad.text
    assert (
        post_form(client, so, f"{so}/phong", {"phong_code": "PGD-BH", "phong_name": "Phòng GDĐT Biên Hòa"}).status_code
        == 303
    )
    assert "Phòng GDĐT Biên Hòa" in client.get(so).text


def test_the_head_sees_no_forms_and_a_school_sees_no_unit(client: TestClient, world: World) -> None:
    phong(client)
    page_login(client, "pgd.tp")
    page = client.get(UNIT)
    assert page.status_code == 200 and 'action="/don-vi/PGD-TB/truong"' not in page.text
    # the head sets the unit's rule: the day by which a month is signed
    typo = post_form(client, UNIT, f"{UNIT}/han-ky", {"day": "²"})
    assert typo.status_code == 422 and 'id="loi-han-day"' in typo.text and 'value="²"' in typo.text
    late = post_form(client, UNIT, f"{UNIT}/han-ky", {"day": "31"})
    assert late.status_code == 422 and "từ 1 đến 28" in late.text
    saved = post_form(client, UNIT, f"{UNIT}/han-ky", {"day": "10"})
    assert saved.status_code == 200 and "Đã đặt hạn ký duyệt: ngày 10 tháng sau." in saved.text
    assert "hạn ký duyệt tháng: ngày 10 tháng sau" in client.get(UNIT).text
    refused = post_form(client, UNIT, f"{UNIT}/truong", school_form())
    assert refused.status_code == 403 and "Chỉ quản trị viên của đơn vị" in refused.text
    home = client.get("/trang-chu").text
    assert 'href="/don-vi"' in home and 'href="/don-vi/PGD-TB"' in home and 'href="/tong-hop?don_vi=PGD-TB"' in home
    assert client.get("/don-vi/SGD-DN").status_code == 403  # the Sở above is not the Phòng's
    assert client.get("/don-vi/KHONG-CO").status_code == 404
    client.cookies.clear()
    page_login(client, "ht.hoa")
    assert client.get("/don-vi").status_code == 403 and client.get(UNIT).status_code == 403
    assert 'href="/don-vi"' not in client.get("/trang-chu").text


def grant_form(**changes: Any) -> dict[str, Any]:
    form = {
        "inspector": "pgd.tt",
        "decision_number": "12/QĐ-PGDĐT",
        "unit_code": "PGD-TB",
        "scope": "tat-ca",
        "school_years": "2026-2027",
        "expires_on": (calendar.today() + timedelta(days=60)).isoformat(),
    }
    return form | changes


def test_the_head_grants_the_unit_inspector_the_units_schools(
    client: TestClient, world: World, session: Session
) -> None:
    phong(client)
    admin = login(client, "admin1")
    for school in ("THA", "THB"):
        assert client.put(f"/api/v1/units/PGD-TB/schools/{school}", headers=admin).status_code == 200
    made = post(
        client, admin, "/api/v1/units/PGD-TB/people", {"username": "pgd.tt", "role": "inspector", "full_name": "TT"}
    )
    first_login(client, "pgd.tt", made["one_time_password"])
    grants = "/cap-quyen-thanh-tra"
    page_login(client, "pgd.tp")
    page = client.get(grants)
    assert page.status_code == 200 and "Mọi trường của đơn vị" in page.text and 'value="pgd.tt"' in page.text
    assert 'value="2026-2027"' in page.text  # this school year, already filled in
    none = post_form(client, grants, grants, grant_form(scope="chon"))
    assert none.status_code == 422 and 'id="loi-school_codes"' in none.text and 'value="12/QĐ-PGDĐT"' in none.text
    no_date = post_form(client, grants, grants, grant_form(expires_on=""))
    assert no_date.status_code == 422 and "ngày hết hạn" in no_date.text
    assert post_form(client, grants, grants, grant_form(scope="chon", school_codes=["THB"])).status_code == 303
    assert post_form(client, grants, grants, grant_form(decision_number="13/QĐ-PGDĐT")).status_code == 303
    listing = client.get(grants).text
    assert (
        listing.count("Phòng GDĐT Trảng Bom:") == 2 and "Trường Tiểu học An Bình, Trường Tiểu học Bình Minh" in listing
    )
    tp = login(client, "pgd.tp")
    grant_ids = {g["decision_number"]: g["id"] for g in client.get("/api/v1/grants", headers=tp).json()}
    revoke = f"{grants}/{grant_ids['12/QĐ-PGDĐT']}/thu-hoi"
    assert post_form(client, grants, revoke, {"reason": "Đã kết thúc"}).status_code == 303
    assert "Đã thu hồi" in client.get(grants).text
    client.cookies.clear()
    page_login(client, "pgd.tt")
    home = client.get("/trang-chu").text
    assert "13/QĐ-PGDĐT" in home and "12/QĐ-PGDĐT" not in home  # the unit inspector's grants, on their home
    assert client.get(grants).status_code == 403  # an inspector grants nothing
