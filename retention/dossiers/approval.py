"""Step 2 of the dossier year: the principal approves the list; its PDF is signed and kept.

Approval opens every dossier on the list (uploads file themselves from now on) and files the
year's records that arrived before it. The signed list is a record of type `dossier_list`; the
signing is a plain callable (`SignPdf`): retention may not import signing, so `flows.dossiers`
makes it (the archive's seal, PAdES, with the principal named on the stamp).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, filing, ingest
from archive.db import utcnow
from archive.exceptions import Conflict, InvalidInput
from archive.models import DossierList, DossierListState, DossierState, Person, Record
from archive.storage import ObjectStore
from retention.dossiers import common, papers


def approve(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    list_id: int,
    sign: papers.SignPdf | None,
    own_key: bool = False,
) -> DossierList:
    """`own_key`: `sign` is the principal's own key, not the archive's seal (recorded in the audit event)."""
    made = common.load_list(session, list_id)
    common.require(
        actor,
        made.school_id,
        common.APPROVERS,
        "Chỉ hiệu trưởng của trường được phê duyệt danh mục hồ sơ.",
        "Only the school's principal approves the list of dossiers.",
    )
    if made.state != DossierListState.draft:
        raise Conflict("Danh mục này đã được phê duyệt.", "This list was approved already.")
    school = common.school_of(session, made.school_id)
    dossiers = papers.dossiers_of(session, made)
    if not dossiers:
        raise InvalidInput("Danh mục chưa có hồ sơ nào.", "The list has no dossier.")
    received = papers.store_signed(store, tmp_dir, papers.list_document(school, made, dossiers, actor.full_name), sign)
    with ingest.versioning(session, store) as written:
        made.state, made.approved_by_id, made.approved_at = DossierListState.approved, actor.id, utcnow()
        for dossier in dossiers:
            dossier.state = DossierState.open
        session.flush()
        record = papers.file_as_record(
            session,
            store,
            actor,
            written,
            school=school,
            school_year=made.school_year,
            record_type="dossier_list",
            title=f"Danh mục hồ sơ năm học {made.school_year}",
            filename=f"danh-muc-ho-so-{made.school_year}.pdf",
            received=received,
            details={"dossier_list_id": made.id},
        )
        made.record_id = record.id
        filed = file_waiting(session, made)
        audit.append(
            session,
            actor=actor,
            action="dossier_list.approved",
            object_type="dossier_list",
            object_id=made.id,
            school_id=made.school_id,
            details={
                "dossiers": len(dossiers),
                "record_id": record.id,
                "signed": sign is not None,
                "signed_with": "principal" if own_key else "seal" if sign is not None else None,
                "filed": filed,
            },
        )
    return made


def file_waiting(session: Session, made: DossierList) -> int:
    """The year's unfiled records, each into the dossier the now approved list gives it."""
    waiting = session.scalars(
        select(Record).where(
            Record.school_id == made.school_id, Record.school_year == made.school_year, Record.dossier_id.is_(None)
        )
    )
    count = 0
    for record in waiting:
        record.dossier_id = filing.dossier_for(session, record)
        count += record.dossier_id is not None
    return count
