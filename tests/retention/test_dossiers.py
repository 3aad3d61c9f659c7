"""The dossier year's domain rules: a dossier's term is its longest document's and its documents
follow it (never shorter), refiling is audited and refused where it must be, dossiers close
themselves when their work ends, and the handover deadline is alerted ahead."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import calendar
from archive.calendar import VN_TIME
from archive.exceptions import Conflict
from archive.models import AuditEvent, Dossier, DossierState, Person, School
from archive.storage import ObjectStore
from retention import schedule
from retention.dossiers import approval, closing, filing, handover, yearly_list
from retention.models import RecordRetention
from tests.factories import World, lesson_plan_pdf, login
from tests.search.test_search_api import upload


def _year(session: Session, world: World, store: ObjectStore, tmp: object) -> dict[str, Dossier]:
    made = yearly_list.generate(
        session, world.clerk, school_code="THA", school_year="2025-2026", grades=[5], subjects=["Toán"]
    )
    approval.approve(session, store, tmp, world.principal, made.id, None)  # type: ignore[arg-type]
    return {d.title: d for d in session.scalars(select(Dossier).where(Dossier.list_id == made.id))}


def test_a_dossier_keeps_its_documents_as_long_as_its_longest_term(
    client: TestClient, world: World, session: Session, store: ObjectStore, settings: object
) -> None:
    dossiers = _year(session, world, store, settings.tmp_dir)  # type: ignore[attr-defined]
    math = dossiers["Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026"]
    lan = login(client, "gv.lan")
    plan = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số"), title="Phân số", grade=5)
    # a directive (20 years) refiled into the lesson-plan dossier makes the whole dossier 20 years
    directive = upload(
        client, lan, "cv.pdf", lesson_plan_pdf("Công văn"), record_type="directive", title="Công văn 12", subject=None
    )
    schedule.refresh(session)
    filing.refile(session, world.clerk, directive, math.id, "Công văn về kế hoạch bài dạy")
    session.rollback()
    terms = dict(session.execute(select(RecordRetention.record_id, RecordRetention.keep_until_year)).all())
    assert terms[plan] == 2046 and terms[directive] == 2046  # 2026 + 20, the longest of the two
    assert session.get(Dossier, math.id).keep_until_year == 2046  # type: ignore[union-attr]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "record.refiled"))
    assert event is not None and event.details["to"] == math.file_code and event.details["reason"]
    # the storage lock follows the raised term, never a shorter one
    schedule.lock_pending(session, store)
    session.rollback()
    assert session.get(RecordRetention, plan).locked_until == date(2047, 1, 1)  # type: ignore[union-attr]
    # a planned dossier (its list not approved) takes nothing
    other = yearly_list.generate(
        session, world.clerk, school_code="THA", school_year="2024-2025", grades=[5], subjects=["Toán"]
    )
    planned = session.scalars(select(Dossier).where(Dossier.list_id == other.id)).first()
    assert planned is not None and planned.state == DossierState.planned
    with pytest.raises(Conflict, match="not approved"):
        filing.refile(session, world.clerk, plan, planned.id)


def test_dossiers_close_when_their_work_ends_and_the_handover_is_alerted(
    client: TestClient, world: World, session: Session, store: ObjectStore, settings: object
) -> None:
    with calendar.pinned(datetime(2025, 9, 10, 9, 0, tzinfo=VN_TIME)):
        dossiers = _year(session, world, store, settings.tmp_dir)  # type: ignore[attr-defined]
        lan = login(client, "gv.lan")
        upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số"), title="Phân số", grade=5)
        assert closing.close_ended(session, store) == 0  # the year's work has not ended
    with calendar.pinned(datetime(2026, 8, 2, 9, 0, tzinfo=VN_TIME)):
        closed = closing.close_ended(session, store)
        assert closed == len(dossiers)
        session.rollback()
        math = session.get(Dossier, dossiers["Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026"].id)
        assert math is not None and math.state == DossierState.closed and math.tt05["totalDoc"] == 1
        assert math.end_date == date(2026, 7, 31) and math.closed_by_id is None
        school = session.scalar(select(School).where(School.code == "THA"))
        assert school is not None
        assert [(d.due, d.alert) for d in handover.due_for(session, school)] == [(date(2027, 12, 31), False)]
    assert handover.due_for(session, school, date(2027, 12, 2))[0].alert  # 30 days ahead
    clerk = session.get(Person, world.clerk.id)
    assert clerk is not None
    handover.hand_over(session, store, settings.tmp_dir, clerk, [math.id], None)  # type: ignore[attr-defined]
    assert session.get(Dossier, math.id).state == DossierState.handed_over  # type: ignore[union-attr]
