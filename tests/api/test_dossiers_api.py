"""Dossiers over HTTP: the clerk's yearly list, the principal's approval, uploads filing themselves,
closing and handing over — and each bad input refused with a Vietnamese message, nothing half-done."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive.models import AuditEvent, Dossier, Record, RecordStatus
from tests.factories import World, lesson_plan_pdf, login
from tests.search.test_search_api import upload

LIST = {"school_code": "THA", "school_year": "2025-2026", "grades": [4, 5], "subjects": ["Toán", "Tiếng Việt"]}


def by_title(listed: dict, title: str) -> dict:  # type: ignore[type-arg]
    return next(d for d in listed["dossiers"] if d["title"] == title)


def test_the_clerks_year_from_list_to_handover(client: TestClient, world: World, session: Session) -> None:
    thu, hoa, lan = login(client, "vt.thu"), login(client, "ht.hoa"), login(client, "gv.lan")
    assert client.post("/api/v1/dossier-lists", headers=lan, json=LIST).status_code == 403
    made = client.post("/api/v1/dossier-lists", headers=thu, json=LIST)
    assert made.status_code == 201, made.text
    listed = made.json()
    assert listed["state"] == "draft"
    math5 = by_title(listed, "Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026")
    assert math5["file_code"].startswith("2025.02.") and math5["state"] == "planned"
    assert math5["maintenance"] == "10 năm" and math5["keep_until_year"] == 2036
    codes = [d["file_code"] for d in listed["dossiers"]]
    assert len(codes) == len(set(codes))
    # one lesson-plan dossier per subject and grade, one recording dossier per teacher
    assert sum(d["record_type"] == "lesson_plan" for d in listed["dossiers"]) == 4
    assert sum(d["record_type"] == "lesson_recording" for d in listed["dossiers"]) == 2

    # an upload before approval is unfiled; the clerk sees it
    early = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số"), title="Phân số", grade=5, subject="toán")
    unfiled = client.get("/api/v1/dossiers/unfiled", headers=thu, params={"school_code": "THA"}).json()
    assert [r["id"] for r in unfiled] == [early]

    # the clerk edits the draft: rename, term, remove an empty one, add one; a duplicate file code is refused
    lit4 = by_title(listed, "Kế hoạch bài dạy môn Tiếng Việt khối 4, năm học 2025-2026")
    edited = client.patch(
        f"/api/v1/dossiers/{lit4['id']}", headers=thu, json={"title": "KHBD Tiếng Việt 4", "years": 20}
    )
    assert edited.status_code == 200 and edited.json()["maintenance"] == "20 năm", edited.text
    clash = client.patch(f"/api/v1/dossiers/{lit4['id']}", headers=thu, json={"file_code": math5["file_code"]})
    assert clash.status_code == 409 and clash.json()["error"] == "duplicate_file_code"
    assert math5["file_code"] in clash.json()["message"] and "đã có" in clash.json()["message"]
    bad_term = client.patch(f"/api/v1/dossiers/{lit4['id']}", headers=thu, json={"years": 90})
    assert bad_term.status_code == 422 and "2 đến 70 năm" in bad_term.json()["message"]
    assert client.get(f"/api/v1/dossiers/{lit4['id']}", headers=thu).json()["title"] == "KHBD Tiếng Việt 4"
    removed = by_title(listed, "Kế hoạch bài dạy môn Tiếng Việt khối 5, năm học 2025-2026")
    assert client.delete(f"/api/v1/dossiers/{removed['id']}", headers=thu).status_code == 204
    added = client.post(
        f"/api/v1/dossier-lists/{listed['id']}/dossiers",
        headers=thu,
        json={"record_type": "directive", "title": "Văn bản chỉ đạo của Phòng GDĐT, năm học 2025-2026"},
    )
    assert added.status_code == 201 and added.json()["file_code"].startswith("2025.01."), added.text

    # drafts export; only the principal approves
    xlsx = client.get(f"/api/v1/dossier-lists/{listed['id']}/export.xlsx", headers=thu)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and any("Kế hoạch bài dạy môn Toán khối 5" in str(c.value) for c in sheet["C"])
    assert client.post(f"/api/v1/dossier-lists/{listed['id']}/approval", headers=thu).status_code == 403
    approved = client.post(f"/api/v1/dossier-lists/{listed['id']}/approval", headers=hoa)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved" and approved.json()["record_id"]
    pdf = client.get(f"/api/v1/dossier-lists/{listed['id']}/export.pdf", headers=hoa)
    assert pdf.status_code == 200 and PdfReader(io.BytesIO(pdf.content)).get_fields()  # the seal's signature field
    again = client.post(f"/api/v1/dossier-lists/{listed['id']}/approval", headers=hoa)
    assert again.status_code == 409
    # approving filed the early upload; a new one files itself; the record page names the dossier
    assert client.get(f"/api/v1/dossiers/{math5['id']}", headers=thu).json()["records"] == 1
    late = upload(client, lan, "khbd2.pdf", lesson_plan_pdf("Số thập phân", pages=3), title="Số thập phân", grade=5)
    assert client.get(f"/api/v1/records/{late}", headers=lan).json()["dossier_id"] == math5["id"]
    assert client.get("/api/v1/dossiers/unfiled", headers=thu, params={"school_code": "THA"}).json() == []

    # closing refuses while a document awaits approval, then closes all of the year's dossiers
    # one statement each, no read before it in the same transaction: a SQLite reader cannot become a
    # writer while the app's worker writes (it would be refused at once, "database is locked")
    session.rollback()
    session.execute(update(Record).where(Record.id == late).values(status=RecordStatus.submitted))
    session.commit()
    waiting = client.post(f"/api/v1/dossier-lists/{listed['id']}/closing", headers=thu)
    assert waiting.status_code == 409 and waiting.json()["error"] == "awaiting_approval"
    assert "Số thập phân" in waiting.json()["message"]
    assert client.get(f"/api/v1/dossiers/{math5['id']}", headers=thu).json()["state"] == "open"  # nothing half-done
    session.execute(update(Record).where(Record.id == late).values(status=RecordStatus.approved))
    session.commit()
    closed = client.post(f"/api/v1/dossier-lists/{listed['id']}/closing", headers=thu)
    assert closed.status_code == 200, closed.text
    shown = by_title(closed.json(), "Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026")
    assert shown["state"] == "closed" and shown["tt05"]["totalDoc"] == 2 and shown["tt05"]["numberOfPage"] == 5
    assert len(shown["tt05"]) == 18 and shown["tt05"]["fileCode"] == math5["file_code"]
    ordinals = session.execute(
        select(Record.title, Record.dossier_ordinal, Record.page_count).where(Record.dossier_id == math5["id"])
    ).all()
    assert sorted(ordinals, key=lambda r: r[1]) == [("Phân số", 1, 2), ("Số thập phân", 2, 3)]

    # filing into a closed dossier is refused
    refile = client.put(f"/api/v1/records/{early}/dossier", headers=thu, json={"dossier_id": lit4["id"]})
    assert refile.status_code == 409 and "đã đóng" in refile.json()["message"]

    # the handover, once; the deadline is one year after the work ended
    due = client.get("/api/v1/dossiers/due", headers=thu, params={"school_code": "THA"}).json()
    assert due == [
        {"school_year": "2025-2026", "dossiers": len(closed.json()["dossiers"]), "due": "2027-12-31", "alert": False}
    ]
    ids = [d["id"] for d in closed.json()["dossiers"]]
    handed = client.post("/api/v1/dossier-handovers", headers=thu, json={"dossier_ids": ids})
    assert handed.status_code == 201, handed.text
    assert handed.json()["record_id"] and math5["file_code"] in handed.json()["dossiers"]
    twice = client.post("/api/v1/dossier-handovers", headers=thu, json={"dossier_ids": ids[:1]})
    assert twice.status_code == 409 and twice.json()["error"] == "already_handed_over"
    assert "đã được giao nộp" in twice.json()["message"]
    assert client.get("/api/v1/dossiers/due", headers=thu, params={"school_code": "THA"}).json() == []
    session.rollback()
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"dossier_list.generated", "dossier_list.approved", "dossier.closed", "dossiers.handed_over"} <= actions


def test_bad_lists_are_refused_and_leave_nothing(client: TestClient, world: World, session: Session) -> None:
    thu = login(client, "vt.thu")
    not_started = client.post("/api/v1/dossier-lists", headers=thu, json={**LIST, "school_year": "2027-2028"})
    assert not_started.status_code == 422 and not_started.json()["error"] == "year_not_started"
    assert "chưa bắt đầu" in not_started.json()["message"]
    no_grades = client.post("/api/v1/dossier-lists", headers=thu, json={**LIST, "grades": []})
    assert no_grades.status_code == 422 and "khối lớp" in no_grades.json()["message"]
    bad_pattern = client.post("/api/v1/dossier-lists", headers=thu, json={**LIST, "file_code_pattern": "{heading}"})
    assert bad_pattern.status_code == 422 and "{number}" in bad_pattern.json()["message"]
    assert session.scalar(select(Dossier.id)) is None
    # a school whose pattern omits the year: next year's codes would repeat this year's
    first = client.post(
        "/api/v1/dossier-lists",
        headers=thu,
        json={**LIST, "school_year": "2024-2025", "file_code_pattern": "{heading}.{number}"},
    )
    assert first.status_code == 201
    count = len(list(session.scalars(select(Dossier.id))))
    second = client.post("/api/v1/dossier-lists", headers=thu, json=LIST)
    assert second.status_code == 409 and second.json()["error"] == "duplicate_file_code"
    assert len(list(session.scalars(select(Dossier.id)))) == count  # nothing half-stored
    again = client.post("/api/v1/dossier-lists", headers=thu, json={**LIST, "school_year": "2024-2025"})
    assert again.status_code == 409 and "đã có danh mục" in again.json()["message"]
