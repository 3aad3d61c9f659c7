"""Inspection grants: an inspector reads exactly what a decision grants, every read on the record, until it ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive import calendar
from archive.models import AuditEvent, InspectorGrant, Role
from tests.conftest import DEFAULT_NOW
from tests.factories import World, lesson_plan_pdf, login, person
from tests.search.test_search_api import find, index_now, upload, xlsx_gradebook


def grant_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "inspector": "tt.nam",
        "decision_number": "125/QĐ-PGDĐT",
        "decision_date": "2026-11-20",
        "school_codes": ["THA"],
        "record_types": ["lesson_plan"],
        "school_years": ["2025-2026"],
        "expires_at": (calendar.now() + timedelta(days=14)).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture
def inspection(client: TestClient, world: World, session: Session) -> dict[str, str]:
    person(session, "tt.nam", Role.inspector, None)
    lan, binh = login(client, "gv.lan"), login(client, "gv.binh")
    ids = {
        "plan": upload(client, lan, "khbd.pdf", lesson_plan_pdf("Kế hoạch bài dạy: Phân số")),
        "old_plan": upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số năm trước"), school_year="2024-2025"),
        "gradebook": upload(
            client, lan, "4a.xlsx", xlsx_gradebook(), record_type="gradebook", subject=None, month=None, grade=4
        ),
        "other_school": upload(client, binh, "khbd.pdf", lesson_plan_pdf("Phân số"), school_code="THB"),
    }
    response = client.post("/api/v1/grants", headers=login(client, "ht.hoa"), json=grant_body())
    assert response.status_code == 201, response.text
    ids["grant"] = str(response.json()["id"])
    index_now(client)
    return ids


def test_an_inspector_finds_and_reads_only_what_the_grant_covers(
    client: TestClient, inspection: dict[str, str], session: Session
) -> None:
    nam = login(client, "tt.nam")
    found = find(client, nam, "phan so")
    assert [h["id"] for h in found["hits"]] == [inspection["plan"]] and found["total"] == 1
    assert found["facets"]["school_code"] == {"THA": 1} and found["facets"]["record_type"] == {"lesson_plan": 1}
    everything = find(client, nam)
    assert everything["total"] == 1  # not the gradebook, not last year's plan, not the other school
    listed = client.get("/api/v1/records", headers=nam).json()
    assert [r["id"] for r in listed["items"]] == [inspection["plan"]] and listed["total"] == 1
    assert client.get(f"/api/v1/records/{inspection['plan']}", headers=nam).status_code == 200
    seek = client.get(f"/api/v1/records/{inspection['plan']}/content", headers={**nam, "Range": "bytes=0-99"})
    assert seek.status_code == 206 and len(seek.content) == 100
    outside = [client.get(f"/api/v1/records/{inspection[k]}", headers=nam) for k in ("gradebook", "other_school")]
    missing = client.get("/api/v1/records/00000000-0000-0000-0000-000000000000", headers=nam)
    assert {r.status_code for r in [*outside, missing]} == {403}
    assert len({r.json()["message"] for r in [*outside, missing]}) == 1  # existence is not revealed
    session.commit()
    actions = [
        (e.action, (e.details or {}).get("decision_number") or (e.details or {}).get("decision_numbers"))
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("inspector.%")).order_by(AuditEvent.seq)
        )
    ]
    assert ("inspector.searched", ["125/QĐ-PGDĐT"]) in actions
    assert ("inspector.viewed", "125/QĐ-PGDĐT") in actions
    trail = client.get(f"/api/v1/records/{inspection['plan']}/audit", headers=login(client, "ht.hoa")).json()
    assert {"inspector.viewed", "record.downloaded"} <= {e["action"] for e in trail}


def test_a_revoked_or_expired_grant_stops_at_once(
    client: TestClient, inspection: dict[str, str], session: Session
) -> None:
    nam, hoa = login(client, "tt.nam"), login(client, "ht.hoa")
    plan = f"/api/v1/records/{inspection['plan']}"
    assert client.get(plan, headers=nam).status_code == 200
    session.commit()  # end the fixture's read snapshot before writing (SQLite)
    session.execute(update(InspectorGrant).values(expires_at=calendar.now() - timedelta(seconds=1)))
    session.commit()
    assert client.get(plan, headers=nam).status_code == 403
    assert find(client, nam, "phan so")["total"] == 0
    session.execute(update(InspectorGrant).values(expires_at=calendar.now() + timedelta(days=1)))
    session.commit()
    assert client.get(plan, headers=nam).status_code == 200
    revoked = client.post(f"/api/v1/grants/{inspection['grant']}/revoke", headers=hoa, json={"reason": "Kết thúc"})
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert client.get(plan, headers=nam).status_code == 403
    mine = client.get("/api/v1/grants", headers=nam).json()
    assert [g["decision_number"] for g in mine] == ["125/QĐ-PGDĐT"] and mine[0]["revoke_reason"] == "Kết thúc"


@pytest.mark.parametrize(
    ("who", "overrides", "status", "words"),
    [
        ("gv.lan", {}, 403, "Chỉ quản trị viên hoặc hiệu trưởng"),
        ("ht.hoa", {"school_codes": ["THB"]}, 403, "Chỉ quản trị viên hoặc hiệu trưởng"),
        ("ht.hoa", {"inspector": "gv.lan"}, 422, "không phải là tài khoản thanh tra"),
        ("ht.hoa", {"school_codes": ["KHONGCO"]}, 422, "Không có trường"),
        ("ht.hoa", {"record_types": ["bi_mat"]}, 422, "Không có loại hồ sơ"),
        ("ht.hoa", {"expires_at": "2020-01-01T00:00:00Z"}, 422, "tương lai"),
        ("ht.hoa", {"expires_at": (DEFAULT_NOW + timedelta(days=800)).isoformat()}, 422, "một năm"),
        ("ht.hoa", {"school_years": ["2025"]}, 422, "năm học"),
        ("ht.hoa", {"decision_number": ""}, 422, ""),
        ("admin1", {"school_codes": ["THA", "THB"]}, 201, ""),
    ],
)
def test_who_may_grant_and_what_is_checked(
    client: TestClient,
    world: World,
    session: Session,
    who: str,
    overrides: dict,
    status: int,
    words: str,  # type: ignore[type-arg]
) -> None:
    person(session, "tt.nam", Role.inspector, None)
    response = client.post("/api/v1/grants", headers=login(client, who), json=grant_body(**overrides))
    assert response.status_code == status, response.text
    if words:
        assert words in response.json()["message"]


def test_an_inspector_holds_no_school(client: TestClient, world: World) -> None:
    admin = login(client, "admin1")
    made = client.post(
        "/api/v1/people",
        headers=admin,
        json={"username": "tt.an", "full_name": "Thanh tra An", "password": "mat-khau-rat-dai-2"},
    )
    assert made.status_code == 201, made.text
    tied = client.post(
        f"/api/v1/people/{made.json()['id']}/memberships",
        headers=admin,
        json={"role": "inspector", "school_code": "THA"},
    )
    assert tied.status_code == 422 and "không gắn với trường" in tied.json()["message"]
    ok = client.post(f"/api/v1/people/{made.json()['id']}/memberships", headers=admin, json={"role": "inspector"})
    assert ok.status_code == 201, ok.text
    nam = login(client, "tt.an", "mat-khau-rat-dai-2")
    assert find(client, nam)["total"] == 0  # no grant, nothing at all
