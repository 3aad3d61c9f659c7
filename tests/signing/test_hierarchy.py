"""A Phòng GDĐT with three schools (issue #17 "Done when"): its administrator makes the schools and their
first principals, its head grants its inspector all three under one grant, the inspector searches
across them, the dashboard shows the month per school (and which are unsigned past the deadline),
the CSV opens in Excel, and a school's principal sees nothing of a sibling school."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from archive import calendar
from archive.calendar import VN_TIME
from archive.models import Role
from tests import factories
from tests.factories import PASSWORD, World, login, mp4_bytes
from tests.pki import TestPKI
from tests.search.test_search_api import find, index_now, upload
from tests.signing.conftest import approve_all, sign, submit, upload_plan, wait_batch

MONTH = {"period": "2026-11"}
YEAR = "2026-2027"


def first_login(client: TestClient, username: str, one_time: str) -> dict[str, str]:
    """Log in with a one-time password and change it, as the person does at their first login."""
    headers = login(client, username, one_time)
    changed = client.post(
        "/api/v1/auth/password", headers=headers, json={"current_password": one_time, "new_password": PASSWORD}
    )
    assert changed.is_success, changed.text
    return login(client, username)


def post(client: TestClient, headers: dict[str, str], url: str, body: dict[str, Any], status: int = 201) -> Any:
    response = client.post(url, headers=headers, json=body)
    assert response.status_code == status, response.text
    return response.json()


def district(client: TestClient, session: Session) -> dict[str, Any]:
    """Sở SGD-DN; Phòng PGD-TB (THA attached, TBA and TBB made by its admin); Phòng PGD-BH (THB)."""
    admin = login(client, "admin1")
    so = {"kind": "so", "code": "SGD-DN", "name": "Sở GDĐT Đồng Nai", "area": "Đồng Nai"}
    post(client, admin, "/api/v1/units", so)
    phong = {"kind": "phong", "code": "PGD-TB", "name": "Phòng GDĐT Trảng Bom", "area": "Trảng Bom"}
    post(client, admin, "/api/v1/units", phong | {"parent_code": "SGD-DN"})
    made = post(
        client, admin, "/api/v1/units/SGD-DN/people", {"username": "pgd.qt", "role": "admin", "full_name": "QT"}
    )
    sgd_admin = first_login(client, "pgd.qt", made["one_time_password"])
    # the Sở's administrator makes the second Phòng (a Phòng sits under its Sở)
    post(
        client,
        sgd_admin,
        "/api/v1/units",
        {**phong, "code": "PGD-BH", "name": "Phòng GDĐT Biên Hòa", "area": "Biên Hòa", "parent_code": "SGD-DN"},
    )
    for school, unit in (("THA", "PGD-TB"), ("THB", "PGD-BH")):
        assert client.put(f"/api/v1/units/{unit}/schools/{school}", headers=admin).status_code == 200
    principals = {}
    for code, name, username in (
        ("TBA", "Trường TH Bàu Hàm", "ht.bauham"),
        ("TBB", "Trường TH Sông Trầu", "ht.songtrau"),
    ):
        body = {"code": code, "name": name, "principal": {"username": username, "full_name": f"Hiệu trưởng {name}"}}
        school = post(client, sgd_admin, "/api/v1/units/PGD-TB/schools", body)
        assert (school["district"], school["province"], school["unit_code"]) == ("Trảng Bom", "Đồng Nai", "PGD-TB")
        principals[code] = first_login(client, username, school["one_time_password"])
    head = post(client, admin, "/api/v1/units/PGD-TB/people", {"username": "pgd.tp", "role": "head", "full_name": "TP"})
    insp = post(
        client, admin, "/api/v1/units/PGD-TB/people", {"username": "pgd.tt", "role": "inspector", "full_name": "TT"}
    )
    factories.person(session, "gv.bauham", Role.teacher, "TBA")
    factories.person(session, "gv.songtrau", Role.teacher, "TBB")
    return {
        "admin": admin,
        "sgd_admin": sgd_admin,
        "head": first_login(client, "pgd.tp", head["one_time_password"]),
        "inspector": first_login(client, "pgd.tt", insp["one_time_password"]),
        "principals": principals,
    }


def month_of_work(client: TestClient, pki: TestPKI) -> dict[str, str]:
    """THA: two plans approved and the month signed, two recordings by gv.lan; TBA: one plan returned;
    TBB: nothing submitted; THB (the other Phòng): one plan waiting."""
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    plans = [upload_plan(client, lan, f"Kế hoạch bài dạy Toán — tiết {n}", school_year=YEAR) for n in (1, 2)]
    batch = ""
    for plan in plans:
        batch = submit(client, lan, plan["id"])["batch_id"]
    for n in range(2):
        fields = {"record_type": "lesson_recording", "school_year": "2026-2027", "month": 11, "title": f"Tiết {n}"}
        submit(client, lan, upload(client, lan, f"tiet-{n}.mp4", mp4_bytes(4096), **fields))
    approve_all(client, hoa, batch)
    assert sign(client, hoa, batch, pki.pkcs12("principal")).status_code == 202
    assert wait_batch(client, hoa, batch)["state"] == "signed"
    bauham = login(client, "gv.bauham")
    returned = upload_plan(client, bauham, "Kế hoạch bài dạy Toán Bàu Hàm", school_code="TBA", school_year=YEAR)
    tba_batch = submit(client, bauham, returned["id"])["batch_id"]
    items = client.get(f"/api/v1/approvals/{tba_batch}", headers=client.principals["TBA"]).json()["items"]  # type: ignore[attr-defined]
    decision = {"decisions": [{"item_id": items[0]["id"], "decision": "returned", "comment": "Bổ sung"}]}
    assert client.post(
        f"/api/v1/approvals/{tba_batch}/decisions", headers=client.principals["TBA"], json=decision
    ).is_success  # type: ignore[attr-defined]
    binh = login(client, "gv.binh")
    other = upload_plan(client, binh, "Kế hoạch bài dạy Toán Biên Hòa", school_code="THB", school_year=YEAR)
    submit(client, binh, other["id"])
    index_now(client)
    return {"tha": plans[0]["id"], "tba": returned["id"], "thb": other["id"]}


@pytest.fixture
def phong(client: TestClient, session: Session, world: World, pki: TestPKI) -> dict[str, Any]:
    people = district(client, session)
    client.principals = people["principals"]  # type: ignore[attr-defined]
    people["records"] = month_of_work(client, pki)
    return people


def test_the_dashboard_shows_the_month_per_school(client: TestClient, phong: dict[str, Any]) -> None:
    report = client.get("/api/v1/units/PGD-TB/compliance", headers=phong["head"], params=MONTH).json()
    rows = {s["code"]: s for s in report["schools"]}
    assert list(rows) == ["TBA", "TBB", "THA"] and report["unit_name"] == "Phòng GDĐT Trảng Bom"
    tha, tba, tbb = rows["THA"], rows["TBA"], rows["TBB"]
    assert (tha["submitted"], tha["approved"], tha["signed"], tha["state"]) == (2, 2, 2, "signed")
    assert (tba["submitted"], tba["returned"], tba["signed"], tba["state"]) == (1, 1, 0, "unsigned")
    assert (tbb["submitted"], tbb["state"]) == (0, "nothing")
    # THA: gv.lan recorded two lessons, gv.minh none; TBA and TBB: their one teacher each, none
    assert (tha["teachers"], tha["under_target"], tba["under_target"], tbb["under_target"]) == (2, 1, 1, 1)
    assert tha["deadline"] == "2026-12-05" and report["overdue_codes"] == []  # 16/11: not due yet

    with calendar.pinned(datetime(2026, 12, 6, 8, 0, tzinfo=VN_TIME)):  # the day after the Phòng's deadline
        late = client.get("/api/v1/units/PGD-TB/compliance", headers=login(client, "pgd.tp"), params=MONTH).json()
    assert late["overdue_codes"] == ["TBA", "TBB"]

    exported = client.get("/api/v1/units/PGD-TB/compliance/csv", headers=phong["inspector"], params=MONTH)
    assert exported.headers["content-type"].startswith("text/csv") and exported.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert lines[1][:3] == ["Mã trường", "Tên trường", "Đơn vị"]
    assert [
        "TBA",
        "Trường TH Bàu Hàm",
        "Phòng GDĐT Trảng Bom",
        "1",
        "0",
        "1",
        "0",
        "0",
        "chưa ký",
        "05/12/2026",
        "",
        "1",
        "1",
    ] in lines

    # the Sở sees both Phòng's schools; the other Phòng's people are not this one's
    so = client.get("/api/v1/units/SGD-DN/compliance", headers=phong["sgd_admin"], params=MONTH).json()
    assert [s["code"] for s in so["schools"]] == ["TBA", "TBB", "THA", "THB"]
    assert {s["code"]: s["pending"] for s in so["schools"]}["THB"] == 1
    # drill-down: the head opens the school's own monthly statistics
    stats = client.get("/api/v1/statistics", headers=phong["head"], params={"school_code": "TBA", **MONTH})
    assert stats.status_code == 200 and stats.json()["totals"]["returned"] == 1
    outside = client.get("/api/v1/statistics", headers=phong["head"], params={"school_code": "THB", **MONTH})
    assert outside.status_code == 403


def test_one_grant_covers_the_three_schools(client: TestClient, phong: dict[str, Any]) -> None:
    tt = phong["inspector"]
    assert find(client, tt, "kế hoạch")["total"] == 0  # nothing before the grant
    grant = {
        "inspector": "pgd.tt",
        "decision_number": "12/QĐ-PGDĐT",
        "unit_code": "PGD-TB",
        "school_years": ["2026-2027"],
        "expires_at": "2027-03-01T00:00:00+07:00",
    }
    made = post(client, phong["head"], "/api/v1/grants", grant)
    assert made["school_codes"] == ["TBA", "TBB", "THA"] and made["unit_code"] == "PGD-TB"
    hits = find(client, tt, "kế hoạch bài dạy")
    schools = {h["school_code"] for h in hits["hits"]}
    assert schools == {"THA", "TBA"}  # TBB submitted nothing; THB is the other Phòng's
    assert client.get(f"/api/v1/records/{phong['records']['tba']}", headers=tt).status_code == 200
    refused = client.get(f"/api/v1/records/{phong['records']['thb']}", headers=tt)
    assert refused.status_code == 403 and "phạm vi" in refused.json()["message"]
    assert client.get(f"/api/v1/records/{phong['records']['thb']}/content", headers=tt).status_code == 403
    # the head sees and may revoke the unit's grant; the grant list of the other Phòng's head is empty
    listed = client.get("/api/v1/grants", headers=phong["head"]).json()
    assert [g["decision_number"] for g in listed] == ["12/QĐ-PGDĐT"]


def test_a_principal_sees_nothing_of_a_sibling_school(client: TestClient, phong: dict[str, Any]) -> None:
    bauham = phong["principals"]["TBA"]
    tha_record = phong["records"]["tha"]
    assert client.get("/api/v1/schools/THA", headers=bauham).status_code == 403
    assert [s["code"] for s in client.get("/api/v1/schools", headers=bauham).json()] == ["TBA"]
    refused = client.get(f"/api/v1/records/{tha_record}", headers=bauham)
    assert refused.status_code == 403 and refused.json()["message"].startswith("Bạn không có quyền")
    assert client.get(f"/api/v1/records/{tha_record}/versions/1/content", headers=bauham).status_code == 403
    assert {h["school_code"] for h in find(client, bauham, "kế hoạch")["hits"]} == {"TBA"}
    stats = client.get("/api/v1/statistics", headers=bauham, params={"school_code": "THA", **MONTH})
    assert stats.status_code == 403
    board = client.get("/api/v1/units/PGD-TB/compliance", headers=bauham, params=MONTH)
    assert board.status_code == 403 and "đơn vị" in board.json()["message"]
    assert client.get("/api/v1/units", headers=bauham).json() == []


def test_bad_unit_requests_are_refused_with_a_message(client: TestClient, phong: dict[str, Any]) -> None:
    admin, sgd_admin, head = phong["admin"], phong["sgd_admin"], phong["head"]
    orphan = {"kind": "phong", "code": "PGD-X", "name": "Phòng lạc"}
    assert "thuộc một Sở" in post(client, admin, "/api/v1/units", orphan, 422)["message"]
    assert post(client, sgd_admin, "/api/v1/units", {"kind": "so", "code": "SGD-Y", "name": "Sở khác"}, 403)
    twice = {"code": "TBA", "name": "Trùng mã"}
    assert "TBA" in post(client, sgd_admin, "/api/v1/units/PGD-TB/schools", twice, 409)["message"]
    assert post(client, head, "/api/v1/units/PGD-TB/schools", {"code": "TBC", "name": "Không phải quản trị"}, 403)
    assert client.get("/api/v1/units/PGD-NONE/compliance", headers=head, params=MONTH).status_code == 404
    bad = client.get("/api/v1/units/PGD-TB/compliance", headers=head, params={"period": "2026-13"})
    assert bad.status_code == 422 and "2026-11" in bad.json()["message"]
    grant = {
        "inspector": "pgd.tt",
        "decision_number": "13/QĐ-PGDĐT",
        "unit_code": "PGD-TB",
        "school_codes": ["THB"],
        "school_years": ["2026-2027"],
        "expires_at": "2027-03-01T00:00:00+07:00",
    }
    assert "không thuộc đơn vị" in post(client, head, "/api/v1/grants", grant, 422)["message"]
    assert post(client, head, "/api/v1/grants", {**grant, "unit_code": "PGD-BH"}, 403)
    with client.app.state.hoso.sessions() as own:  # type: ignore[attr-defined]  (closed: an open one holds a lock)
        factories.person(own, "tt.so", Role.inspector, None)
    stranger = {**grant, "school_codes": [], "inspector": "tt.so"}
    assert "không phải thanh tra của đơn vị" in post(client, head, "/api/v1/grants", stranger, 422)["message"]
    nothing = post(client, head, "/api/v1/grants", {**grant, "school_codes": [], "unit_code": None}, 422)
    assert "chọn trường" in nothing["message"]
    # nothing half-stored: no grant was made by any refused request
    assert client.get("/api/v1/grants", headers=head).json() == []


def test_the_dashboard_page_and_its_drill_down(client: TestClient, phong: dict[str, Any]) -> None:
    from tests.web.test_pages_http import page_login

    assert page_login(client, "pgd.tp").status_code == 303
    home = client.get("/trang-chu")
    assert 'href="/tong-hop"' in home.text and 'href="/quan-tri"' not in home.text
    page = client.get("/tong-hop", params={"don_vi": "PGD-TB", "ky": "2026-11"})
    assert page.status_code == 200 and "Trường TH Sông Trầu" in page.text and "Biên Hòa" not in page.text
    assert "/thong-ke?truong=TBA&amp;ky=2026-11" in page.text and "chưa nộp" in page.text
    assert "/api/v1/units/PGD-TB/compliance/csv?period=2026-11" in page.text
    drill = client.get("/thong-ke", params={"truong": "TBA", "ky": "2026-11"})
    assert drill.status_code == 200 and "Trường TH Bàu Hàm" in drill.text
    wrong = client.get("/tong-hop", params={"don_vi": "PGD-TB", "ky": "11/2026"})
    assert wrong.status_code == 422 and 'id="loi-ky"' in wrong.text

    client.cookies.clear()
    assert page_login(client, "ht.bauham").status_code == 303
    refused = client.get("/tong-hop")
    assert refused.status_code == 403 and "Sở, Phòng GDĐT" in refused.text
    own = client.get("/thong-ke", params={"truong": "THA", "ky": "2026-11"})  # a sibling's code: their own school
    assert own.status_code == 200 and "Trường Tiểu học An Bình" not in own.text
