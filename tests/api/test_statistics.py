"""Monthly statistics (TT 09/2021): by teacher with recorded lessons against the target, subject, grade/class."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import World, login, mp4_bytes
from tests.search.test_search_api import upload
from tests.signing.conftest import submit, upload_plan
from tests.web.test_pages_http import page_login


def month_of_work(client: TestClient) -> None:
    lan, minh, hoa = login(client, "gv.lan"), login(client, "gv.minh"), login(client, "ht.hoa")
    plans = [
        upload_plan(client, lan, "KHBD Toán — Phân số", subject="Toán", grade=5, class_name="5A"),
        upload_plan(client, lan, "KHBD Toán — Số thập phân", subject="Toán", grade=5, class_name="5A"),
        upload_plan(client, minh, "KHBD Tiếng Việt — Tập đọc", subject="Tiếng Việt", grade=4, class_name="4B"),
    ]
    batch_id = ""
    for plan, who in zip(plans, (lan, lan, minh), strict=True):
        batch_id = submit(client, who, plan["id"])["batch_id"]
    items = client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()["items"]
    decisions = [
        {"item_id": i["id"], "decision": "returned" if "Tập đọc" in i["title"] else "approved", "comment": "Bổ sung"}
        for i in items
    ]
    assert client.post(f"/api/v1/approvals/{batch_id}/decisions", headers=hoa, json={"decisions": decisions}).is_success
    for n in range(2):  # gv.lan recorded two online lessons this month; gv.minh none
        fields = {"record_type": "lesson_recording", "school_year": "2026-2027", "month": 11, "title": f"Tiết {n}"}
        recording = upload(client, lan, f"tiet-{n}.mp4", mp4_bytes(4096), **fields)
        submit(client, lan, recording)  # approved with the plans, counted as a recording, not as a plan


def test_the_month_by_teacher_subject_and_class(client: TestClient, world: World) -> None:
    month_of_work(client)
    hoa = login(client, "ht.hoa")
    stats = client.get("/api/v1/statistics", headers=hoa, params={"school_code": "THA", "period": "2026-11"}).json()
    assert stats["school_year"] == "2026-2027" and stats["month"] == 11
    teachers = {r["key"]: r for r in stats["by_teacher"]}
    lan, minh = teachers["gv.lan"], teachers["gv.minh"]
    assert (lan["submitted"], lan["approved"], lan["returned"], lan["recordings"], lan["meets_target"]) == (
        2,
        2,
        0,
        2,
        True,
    )
    assert (minh["submitted"], minh["returned"], minh["recordings"], minh["meets_target"]) == (1, 1, 0, False)
    assert {r["label"]: r["submitted"] for r in stats["by_subject"]} == {"Tiếng Việt": 1, "Toán": 2}
    assert {r["label"]: r["returned"] for r in stats["by_class"]} == {"Khối 4 — lớp 4B": 1, "Khối 5 — lớp 5A": 0}
    assert stats["totals"]["submitted"] == 3 and stats["totals"]["recordings"] == 2

    params = {"school_code": "THA", "period": "2026-11"}
    exported = client.get("/api/v1/statistics/csv", headers=hoa, params=params)
    assert exported.headers["content-type"].startswith("text/csv") and exported.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[1][0] == "Nhóm" and ["Giáo viên", "Gv.Minh", "1", "0", "1", "0", "0", "0", "chưa"] in rows
    chart = client.get("/api/v1/statistics/svg", headers=hoa, params=params)
    assert chart.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(chart.text)  # well-formed, names escaped
    assert svg.tag.endswith("svg") and "mục tiêu 2 tiết" in chart.text and "Gv.Lan" in chart.text


def test_bad_periods_and_outsiders_are_refused(client: TestClient, world: World) -> None:
    hoa, lan = login(client, "ht.hoa"), login(client, "gv.lan")
    bad = client.get("/api/v1/statistics", headers=hoa, params={"school_code": "THA", "period": "2026-13"})
    assert bad.status_code == 422 and "2026-11" in bad.json()["message"]
    assert (
        client.get("/api/v1/statistics", headers=lan, params={"school_code": "THA", "period": "2026-11"}).status_code
        == 403
    )
    other = client.get("/api/v1/statistics", headers=hoa, params={"school_code": "THB", "period": "2026-11"})
    assert other.status_code == 403


def test_the_statistics_page(client: TestClient, world: World) -> None:
    month_of_work(client)
    page_login(client, "ht.hoa")
    page = client.get("/thong-ke", params={"truong": "THA", "ky": "2026-11"})
    assert page.status_code == 200 and "✘ chưa đạt" in page.text and "✔ đạt" in page.text
    assert "/api/v1/statistics/svg?school_code=THA&amp;period=2026-11" in page.text
    wrong = client.get("/thong-ke", params={"truong": "THA", "ky": "11/2026"})
    assert wrong.status_code == 422 and 'id="loi-ky"' in wrong.text and 'value="11/2026"' in wrong.text


def test_a_teacher_who_left_keeps_their_plans_but_is_not_held_to_the_target(
    client: TestClient, world: World, session: Session
) -> None:
    """The school's month and the unit's dashboard hold the same people to "≥ 2 recorded lessons"."""
    month_of_work(client)
    session.commit()
    world.teacher2.active = False  # gv.minh left the school this month
    session.commit()
    hoa = login(client, "ht.hoa")
    stats = client.get("/api/v1/statistics", headers=hoa, params={"school_code": "THA", "period": "2026-11"}).json()
    minh = {r["key"]: r for r in stats["by_teacher"]}["gv.minh"]
    assert (minh["submitted"], minh["meets_target"]) == (1, None)  # listed with the plan, not "chưa đạt"
