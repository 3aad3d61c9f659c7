"""Step 5 of the dossier year: closed dossiers handed to the school's archive (nộp lưu vào lưu trữ
cơ quan), in a batch, with one signed paper: the list of the dossiers handed over (mục lục hồ sơ
nộp lưu) and the record of the handover (biên bản giao nhận).

Each dossier handed over also leaves as the SIP the school's archive receives (TT 05/2025 form,
flows/dossier_package/): one `HandoverPackage` row and one job per dossier, queued in the handover's
own transaction, so a handover never exists without its packages on the way; the worker builds and
stores them (a package of a few GB takes minutes, a request must not).

The deadline is data with its citation (`common.HANDOVER_DEADLINE`, NĐ 30/2020 Phụ lục VI: within
one year after the work ended), alerted ahead as the transfers are (`retention.alerts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import access, audit, calendar, ingest, jobs
from archive.db import write_transaction
from archive.exceptions import Conflict, Forbidden, Gone, InvalidInput, NotFound
from archive.models import Dossier, DossierHandover, DossierState, HandoverPackage, Person, Record, School
from archive.storage import ObjectStore
from retention.dossiers import common, papers
from retention.exceptions import AlreadyHandedOver

SIP_JOB = "dossier.sip"  # built by flows/dossier_package/handover_sips.py


def hand_over(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    dossier_ids: Sequence[str],
    sign: papers.SignPdf | None,
) -> DossierHandover:
    """Hand closed dossiers of one school to its archive; the signed list is kept as a record, and
    each dossier's SIP is queued."""
    if not dossier_ids:
        raise InvalidInput("Chọn ít nhất một hồ sơ đã đóng để giao nộp.", "Choose at least one closed dossier.")
    dossiers = [common.load_dossier(session, i) for i in dict.fromkeys(dossier_ids)]
    if len({d.school_id for d in dossiers}) > 1:
        raise InvalidInput("Mỗi lần chỉ giao nộp hồ sơ của một trường.", "Hand over one school's dossiers at a time.")
    school = common.school_of(session, dossiers[0].school_id)
    common.require_editor(actor, school.id)
    _check(dossiers)
    count = session.scalar(
        select(func.count()).select_from(DossierHandover).where(DossierHandover.school_id == school.id)
    )
    number = (count or 0) + 1
    dossiers.sort(key=lambda d: d.file_code)
    received = papers.store_signed(store, tmp_dir, papers.handover_document(school, actor, dossiers, number), sign)
    with ingest.versioning(session, store) as written:
        for dossier in dossiers:
            session.refresh(dossier)
        _check(dossiers)
        made = DossierHandover(school_id=school.id, dossier_ids=[d.id for d in dossiers], created_by_id=actor.id)
        session.add(made)
        session.flush()
        record = papers.file_as_record(
            session,
            store,
            actor,
            written,
            school=school,
            school_year=max(d.school_year for d in dossiers),
            record_type="dossier_handover",
            title=f"Mục lục hồ sơ nộp lưu và biên bản giao nhận, đợt {number}",
            filename=f"muc-luc-nop-luu-{school.code}-{number}.pdf",
            received=received,
            details={"dossier_handover_id": made.id},
        )
        made.record_id = record.id
        filled = set(session.scalars(select(Record.dossier_id).where(Record.dossier_id.in_([d.id for d in dossiers]))))
        for dossier in dossiers:
            dossier.state, dossier.handover_id = DossierState.handed_over, made.id
            if dossier.id in filled:  # an empty dossier is listed as handed over, with nothing to package
                session.add(HandoverPackage(handover_id=made.id, dossier_id=dossier.id, state="queued"))
                jobs.enqueue(session, SIP_JOB, {"handover_id": made.id, "dossier_id": dossier.id}, max_attempts=3)
        audit.append(
            session,
            actor=actor,
            action="dossiers.handed_over",
            object_type="dossier_handover",
            object_id=made.id,
            school_id=school.id,
            details={"dossiers": [d.file_code for d in dossiers], "record_id": record.id, "signed": sign is not None},
        )
    return made


def load_handover(session: Session, actor: Person, handover_id: int) -> DossierHandover:
    """A handover its school's clerk, archivist or leaders may see (403 for anyone else, 404 for no
    such handover). Not an administrator by that role alone: a SIP is the dossiers' whole content
    (học bạ, pupils' records), and an administrator reads no record content (archive/access.py)."""
    made = session.get(DossierHandover, handover_id)
    if made is None:
        raise NotFound(f"Không có đợt giao nộp số {handover_id}.", f"No handover {handover_id}.")
    if not access.roles_at(actor, made.school_id) & common.VIEWERS:
        raise Forbidden(
            "Chỉ văn thư, cán bộ lưu trữ và ban giám hiệu của trường được xem và tải các gói hồ sơ đã giao nộp.",
            "Only the school's clerk, archivist and management may see and download the handed-over packages.",
        )
    return made


def kept_package(session: Session, actor: Person, handover_id: int, dossier_id: str) -> HandoverPackage:
    """A handed-over dossier's SIP, ready to download (the download audited), or why not."""
    made = load_handover(session, actor, handover_id)
    row = session.get(HandoverPackage, (handover_id, dossier_id))
    if row is None:
        raise NotFound("Hồ sơ này không thuộc đợt giao nộp.", "This dossier is not in the handover.")
    if row.state == "destroyed":
        raise Gone(
            "Gói SIP này đã bị xóa cùng các tài liệu bị hủy theo quyết định hủy.",
            "This SIP was deleted with the documents destroyed by a destruction decision.",
        )
    if row.state == "failed":
        raise Conflict(
            f"Chưa tạo được gói SIP của hồ sơ: {row.error or ''}",
            f"The dossier's SIP could not be built: {row.error or ''}",
            state=row.state,
        )
    if row.state != "ready" or row.store_key is None:
        raise Conflict(
            "Gói SIP của hồ sơ đang được tạo; hãy thử lại sau ít phút.",
            "The dossier's SIP is being built; try again in a few minutes.",
            state=row.state,
        )
    with write_transaction(session):
        audit.append(
            session,
            actor=actor,
            action="dossier.sip_downloaded",
            object_type="dossier",
            object_id=dossier_id,
            school_id=made.school_id,
            details={"handover_id": handover_id, "sha256": row.sha256},
        )
    return row


def packages_holding(session: Session, record_ids: set[str]) -> list[HandoverPackage]:
    """The kept SIPs whose dossier holds one of these records: destroyed with them (they hold the bytes)."""
    dossiers = select(Record.dossier_id).where(Record.id.in_(record_ids), Record.dossier_id.is_not(None))
    return list(
        session.scalars(
            select(HandoverPackage).where(
                HandoverPackage.dossier_id.in_(dossiers), HandoverPackage.state != "destroyed"
            )
        )
    )


def _check(dossiers: list[Dossier]) -> None:
    given = [d.file_code for d in dossiers if d.state == DossierState.handed_over]
    if given:
        raise AlreadyHandedOver(
            f"Hồ sơ {', '.join(given[:5])} đã được giao nộp vào lưu trữ cơ quan; không giao nộp lần nữa.",
            f"Dossier {', '.join(given[:5])} was handed over already; it is not handed over twice.",
        )
    still_open = [d.file_code for d in dossiers if d.state != DossierState.closed]
    if still_open:
        raise Conflict(
            f"Hồ sơ {', '.join(still_open[:5])} chưa đóng; chỉ giao nộp hồ sơ đã đóng.",
            f"Dossier {', '.join(still_open[:5])} is not closed; only closed dossiers are handed over.",
        )


def due_date(dossier_end: date) -> date:
    """The last day to hand a dossier over: the deadline's years after the year its work ended."""
    return date(dossier_end.year + common.HANDOVER_DEADLINE.years, 12, 31)


@dataclass(frozen=True)
class Due:
    school_year: str
    dossiers: int
    due: date
    alert: bool  # within the alert days, or overdue

    def as_dict(self) -> dict[str, Any]:
        return {"school_year": self.school_year, "dossiers": self.dossiers, "due": self.due, "alert": self.alert}


def due_for(session: Session, school: School, today: date | None = None) -> list[Due]:
    """Listed dossiers not yet handed over, by school year, with the handover deadline."""
    today = today or calendar.today()
    rows = session.execute(
        select(Dossier.school_year, func.count(), func.max(Dossier.end_date))
        .where(
            Dossier.school_id == school.id,
            Dossier.list_id.is_not(None),
            Dossier.state.in_([DossierState.open, DossierState.closed]),
        )
        .group_by(Dossier.school_year)
        .order_by(Dossier.school_year)
    ).all()
    alert = timedelta(days=common.HANDOVER_DEADLINE.alert_days)
    found = []
    for year, n, ended in rows:
        due = due_date(ended or calendar.school_year_end(year))
        found.append(Due(year, int(n), due, today >= due - alert))
    return found
