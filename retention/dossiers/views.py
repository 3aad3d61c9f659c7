"""The dossier year as the routes, pages and CLI show it: one dictionary per list, dossier, handover
(the shapes of `retention.schemas` Dossier*Out), and the reads behind them, each checking who asks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import blobs, pdfdoc
from archive.exceptions import NotFound
from archive.models import Dossier, DossierHandover, DossierList, HandoverPackage, Person, Record, Version
from archive.storage import ObjectStore
from retention.dossiers import common, papers
from retention.dossiers.filing import dossier_view


def counts(session: Session, dossier_ids: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(Record.dossier_id, func.count()).where(Record.dossier_id.in_(dossier_ids)).group_by(Record.dossier_id)
    ).all()
    return {str(d): int(n) for d, n in rows}


def list_view(session: Session, made: DossierList) -> dict[str, Any]:
    school = common.school_of(session, made.school_id)
    dossiers = papers.dossiers_of(session, made)
    n = counts(session, [d.id for d in dossiers])
    approver = session.get(Person, made.approved_by_id) if made.approved_by_id else None
    return {
        "id": made.id,
        "school_code": school.code,
        "school_year": made.school_year,
        "state": made.state,
        "approved_by": approver.full_name if approver else None,
        "approved_at": made.approved_at,
        "record_id": made.record_id,
        "dossiers": [dossier_view(d, n.get(d.id, 0)) for d in dossiers],
    }


def visible_list(session: Session, person: Person, list_id: int) -> DossierList:
    made = common.load_list(session, list_id)
    common.require_viewer(person, made.school_id)
    return made


def list_of(session: Session, person: Person, school_code: str, school_year: str) -> DossierList:
    school = common.school_by_code(session, school_code)
    common.require_viewer(person, school.id)
    made = session.scalar(
        select(DossierList).where(DossierList.school_id == school.id, DossierList.school_year == school_year)
    )
    if made is None:
        raise NotFound(
            f"Trường chưa có danh mục hồ sơ năm học {school_year}.", f"The school has no list for {school_year}."
        )
    return made


def lists_of(session: Session, person: Person, school_code: str) -> list[DossierList]:
    school = common.school_by_code(session, school_code)
    common.require_viewer(person, school.id)
    return list(
        session.scalars(
            select(DossierList).where(DossierList.school_id == school.id).order_by(DossierList.school_year.desc())
        )
    )


def visible_dossier(session: Session, person: Person, dossier_id: str) -> dict[str, Any]:
    dossier = common.load_dossier(session, dossier_id)
    common.require_viewer(person, dossier.school_id)
    return dossier_view(dossier, counts(session, [dossier.id]).get(dossier.id, 0))


def handover_view(session: Session, made: DossierHandover) -> dict[str, Any]:
    school = common.school_of(session, made.school_id)
    codes = session.scalars(
        select(Dossier.file_code).where(Dossier.id.in_(made.dossier_ids)).order_by(Dossier.file_code)
    )
    packages = session.execute(
        select(HandoverPackage, Dossier.file_code)
        .join(Dossier, Dossier.id == HandoverPackage.dossier_id)
        .where(HandoverPackage.handover_id == made.id)
        .order_by(Dossier.file_code)
    ).all()
    return {
        "id": made.id,
        "school_code": school.code,
        "dossiers": list(codes),
        "record_id": made.record_id,
        "created_at": made.created_at,
        "packages": [
            {
                "dossier_id": p.dossier_id,
                "file_code": code,
                "state": p.state,
                "size": p.size,
                "sha256": p.sha256,
                "error": p.error,
                "download": f"/api/v1/dossier-handovers/{made.id}/packages/{p.dossier_id}"
                if p.state == "ready"
                else None,
            }
            for p, code in packages
        ],
    }


def handovers_of(session: Session, school_id: int) -> list[DossierHandover]:
    return list(
        session.scalars(
            select(DossierHandover).where(DossierHandover.school_id == school_id).order_by(DossierHandover.id.desc())
        )
    )


def unfiled_view(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "title": record.title,
        "school_year": record.school_year,
        "record_type": record.record_type.code,
        "author": record.author.full_name,
        "subject": record.subject,
        "grade": record.grade,
    }


def list_pdf(session: Session, store: ObjectStore, made: DossierList) -> bytes:
    """The list as PDF: the signed one once approved, else the draft drawn now (marked as a draft)."""
    if made.record_id is not None:
        record = session.get(Record, made.record_id)
        assert record is not None
        sha = session.scalar(
            select(Version.blob_sha256).where(Version.record_id == record.id, Version.number == record.current_version)
        )
        assert sha is not None
        return b"".join(blobs.read_verified(session, store, sha))
    school = common.school_of(session, made.school_id)
    return pdfdoc.render(papers.list_document(school, made, papers.dossiers_of(session, made)))


def list_xlsx(session: Session, made: DossierList) -> bytes:
    return papers.list_xlsx(common.school_of(session, made.school_id), made, papers.dossiers_of(session, made))
