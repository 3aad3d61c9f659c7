"""Every page of hoso, for each role: one archive with a person of every role, a submitted plan, an
inspection grant, and the list of addresses each role opens. The plain-words test (HTTP) and the
accessibility walk (Chromium with axe-core) both take their pages from here, so a page added to the
menu is checked by both."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import calendar, service, units
from archive.models import Person, Role, UnitKind, UnitRole
from archive.schemas import PersonCreate
from archive.unit_schemas import UnitCreate, UnitPersonCreate
from tests.factories import PASSWORD, World, login, person
from tests.signing.conftest import submit, upload_plan

COMMON = ["/trang-chu", "/tim-kiem", "/tim-kiem?q=phan+so", "/doi-mat-khau", "/thong-bao", "/trang-khong-co"]


@dataclass
class Tour:
    record_id: str
    batch_id: str
    pages: dict[str, list[str]] = field(default_factory=dict)  # username → addresses


def build(client: TestClient, world: World, session: Session) -> Tour:
    """A plan submitted to the principal, a grant to an inspector, an archivist, the clerk's draft list
    of dossiers; then each role's pages."""
    person(session, "tt.nam", Role.inspector, None)
    person(session, "lt.mai", Role.archivist, "THA")
    session.commit()
    lan = login(client, "gv.lan")
    record = upload_plan(client, lan, "Kế hoạch bài dạy: Phân số")
    batch_id = submit(client, lan, record["id"])["batch_id"]
    grant = {
        "inspector": "tt.nam",
        "decision_number": "125/QĐ-PGDĐT",
        "decision_date": "2026-11-20",
        "school_codes": ["THA"],
        "record_types": ["lesson_plan"],
        "school_years": ["2025-2026", "2026-2027"],
        "expires_at": (calendar.now() + timedelta(days=14)).isoformat(),
    }
    response = client.post("/api/v1/grants", headers=login(client, "ht.hoa"), json=grant)
    assert response.status_code == 201, response.text
    teacher_id = session.scalar(select(Person.id).where(Person.username == "gv.lan"))
    year = {"school_code": "THA", "school_year": "2025-2026", "grades": [5], "subjects": ["Toán"]}
    assert client.post("/api/v1/dossier-lists", headers=login(client, "vt.thu"), json=year).status_code == 201
    rec = f"/ho-so/{record['id']}"
    nam = login(client, "tt.nam")  # copies: an authenticated one waiting for the clerk, a read copy to read
    for kind, until in (("authenticated", None), ("read", (calendar.today() + timedelta(days=7)).isoformat())):
        body = {"record_id": record["id"], "kind": kind, "purpose": "Thanh tra", "read_until": until}
        asked = client.post("/api/v1/copies", headers=nam, json=body)
        assert asked.status_code == 201, asked.text
    read_copy = f"/ban-sao/{asked.json()['id']}/doc"
    district(client, session)
    tour = Tour(record_id=record["id"], batch_id=batch_id)
    tour.pages = {
        "gv.lan": [*COMMON, "/tai-len", rec],
        "ht.hoa": [*COMMON, rec, "/duyet", f"/duyet/{batch_id}", "/luu-tru", "/thong-ke", "/cap-quyen-thanh-tra"]
        + ["/goi-chung-cu", "/danh-muc-ho-so", "/truong/THA/con-dau"],
        "vt.thu": [*COMMON, "/duyet", "/luu-tru", "/thong-ke", "/danh-muc-ho-so", "/ban-sao"],
        "lt.mai": [*COMMON, "/luu-tru", "/thong-ke", "/danh-muc-ho-so"],
        "tt.nam": [*COMMON, rec, "/goi-chung-cu", "/ban-sao", read_copy],
        "admin1": [
            *COMMON,
            "/quan-tri",
            "/luu-tru",
            "/cap-quyen-thanh-tra",
            f"/quan-tri/nguoi-dung/{teacher_id}/chung-thu-so",
        ]
        + [f"/quan-tri/nguoi-dung/{teacher_id}", "/quan-tri/nhap-danh-sach", "/don-vi", "/don-vi/PGD-TB", "/tong-hop"],
        "pgd.tp": [*COMMON, "/don-vi", "/don-vi/SGD-DN", "/don-vi/PGD-TB", "/tong-hop", "/cap-quyen-thanh-tra"],
        "pgd.tt": [*COMMON, "/don-vi/PGD-TB", "/tong-hop?don_vi=PGD-TB"],
    }
    return tour


def district(client: TestClient, session: Session) -> None:
    """Sở SGD-DN over Phòng PGD-TB, which holds THA: pgd.tp is the Sở's head and administrator, pgd.tt
    the Phòng's inspector under a grant of the Phòng's schools."""
    units.create_unit(session, None, UnitCreate(kind=UnitKind.so, code="SGD-DN", name="Sở GDĐT Đồng Nai"))
    phong = UnitCreate(kind=UnitKind.phong, code="PGD-TB", name="Phòng GDĐT Trảng Bom", parent_code="SGD-DN")
    units.create_unit(session, None, phong)
    units.attach_school(session, None, "THA", "PGD-TB")
    for username, unit, roles in (
        ("pgd.tp", "SGD-DN", (UnitRole.head, UnitRole.admin)),
        ("pgd.tt", "PGD-TB", (UnitRole.inspector,)),
    ):
        service.create_person(
            session, None, PersonCreate(username=username, full_name=username.title(), password=PASSWORD)
        )
        for role in roles:
            units.add_person(session, None, unit, UnitPersonCreate(username=username, role=role))
    session.commit()
    grant = {
        "inspector": "pgd.tt",
        "decision_number": "7/QĐ-PGDĐT",
        "unit_code": "PGD-TB",
        "school_years": ["2025-2026"],
        "expires_at": (calendar.now() + timedelta(days=30)).isoformat(),
    }
    response = client.post("/api/v1/grants", headers=login(client, "pgd.tp"), json=grant)
    assert response.status_code == 201, response.text
