"""Step 2: the council (Hội đồng xét hủy) reviews the list; its minutes become a document of the dossier.

A council that disagrees sends the list back: its records wait in review again.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from archive import audit, pdfdoc
from archive.db import utcnow
from archive.exceptions import Conflict, InvalidInput
from archive.models import Person, School
from archive.storage import ObjectStore
from retention.disposition.common import HEADER, PROPOSERS, WIDTHS, back_to_review, listed, load, require, rows
from retention.disposition.document import Paper, filed
from retention.models import CouncilOpinion, Disposition, DispositionState


def council(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    disposition_id: int,
    *,
    members: list[dict[str, str]],
    establishment_decision: str,
    minutes: str,
    opinion: str,
    notes: str = "",
) -> Disposition:
    """Step 2: the council's review, recorded as minutes; a council that disagrees sends the list back."""
    disposition = load(session, disposition_id)
    require(
        actor,
        disposition.school_id,
        PROPOSERS,
        "Chỉ cán bộ lưu trữ/văn thư hoặc hiệu trưởng ghi kết quả họp hội đồng.",
        "Only the archivist/clerk or the principal records the council's review.",
    )
    if disposition.state != DispositionState.proposed:
        raise Conflict("Đợt hủy không ở bước chờ hội đồng.", "The disposition is not waiting for its council.")
    if opinion not in tuple(CouncilOpinion):
        raise InvalidInput("Ý kiến hội đồng: agree hoặc disagree.", "The council's opinion is agree or disagree.")
    if len(members) < 3 or not establishment_decision.strip() or not minutes.strip():
        raise InvalidInput(
            "Hội đồng cần ít nhất 3 thành viên, quyết định thành lập và nội dung biên bản họp.",
            "The council needs at least 3 members, its establishment decision and its minutes.",
        )
    agreed = opinion == CouncilOpinion.agree
    school = session.get(School, disposition.school_id)
    assert school is not None
    paper = Paper(
        "bien-ban-hoi-dong",
        "Biên bản họp Hội đồng xét hủy",
        pdfdoc.Document(
            unit=school.name,
            title="Biên bản họp Hội đồng xác định tài liệu hết giá trị",
            before=[
                f"Căn cứ {establishment_decision.strip()}.",
                "Thành phần: " + "; ".join(f"{m.get('name', '')} ({m.get('title', '')})" for m in members) + ".",
                minutes.strip(),
                "Ý kiến của Hội đồng: "
                + ("nhất trí đề nghị hủy các tài liệu trong danh mục." if agreed else "không nhất trí.")
                + (f" {notes.strip()}" if notes.strip() else ""),
            ],
            header=HEADER,
            rows=rows(listed(session, disposition)),
            widths_mm=WIDTHS,
            signers=["THƯ KÝ HỘI ĐỒNG", "CHỦ TỊCH HỘI ĐỒNG"],
        ),
    )
    with filed(session, store, tmp_dir, actor, paper, disposition):
        disposition.council = {
            "members": members,
            "establishment_decision": establishment_decision.strip(),
            "minutes": minutes.strip(),
            "opinion": opinion,
            "notes": notes.strip(),
        }
        disposition.reviewed_at = utcnow()
        disposition.state = DispositionState.reviewed if agreed else DispositionState.rejected
        if not agreed:
            back_to_review(session, disposition)
        audit.append(
            session,
            actor=actor,
            action="disposition.council_reviewed",
            object_type="disposition",
            object_id=disposition.id,
            school_id=disposition.school_id,
            details={"opinion": opinion, "members": [m.get("name") for m in members]},
        )
    return disposition
