"""Step 3: the head of the unit (the principal) decides; the decision (Quyết định hủy) is the dossier's
document, signed with the principal's key when one is given, else recorded and flagged unsigned.

The signing itself is a plain callable (`SignPdf`): retention may not import signing, so the flow
(`flows.destruction.sign_decision`) makes it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from archive import audit, pdfdoc
from archive.db import utcnow
from archive.exceptions import Conflict, InvalidInput
from archive.models import Person, Role, School
from archive.storage import ObjectStore
from retention.disposition.common import (
    EXECUTION_DAYS,
    HEADER,
    WIDTHS,
    SignPdf,
    back_to_review,
    listed,
    load,
    require,
    rows,
)
from retention.disposition.document import Paper, filed
from retention.models import Disposition, DispositionState


def decide(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    disposition_id: int,
    *,
    approve: bool,
    decision_number: str,
    sign: SignPdf | None = None,
) -> Disposition:
    """Step 3: the principal's decision (Quyết định hủy), signed when a key is given."""
    disposition = load(session, disposition_id)
    require(
        actor,
        disposition.school_id,
        {Role.principal},
        "Chỉ hiệu trưởng (người đứng đầu đơn vị) được quyết định hủy tài liệu.",
        "Only the principal (the head of the unit) decides a destruction.",
    )
    if disposition.state not in (DispositionState.reviewed, DispositionState.lapsed):
        raise Conflict(
            "Đợt hủy chưa qua hội đồng xét hủy (hoặc đã được quyết định).",
            "The disposition has not been through its council (or was decided already).",
        )
    if not decision_number.strip():
        raise InvalidInput("Hãy ghi số quyết định.", "Give the decision number.")
    school = session.get(School, disposition.school_id)
    assert school is not None
    now = utcnow()
    paper = Paper(
        "quyet-dinh",
        f"Quyết định hủy tài liệu {decision_number}",
        pdfdoc.Document(
            unit=school.name,
            title=f"Quyết định số {decision_number.strip()} về việc hủy tài liệu hết giá trị",
            before=[
                "Căn cứ Luật Lưu trữ năm 2024 và Thông tư 06/2025/TT-BNV;",
                "Xét đề nghị của Hội đồng xác định tài liệu hết giá trị "
                f"({(disposition.council or {}).get('establishment_decision', '')});",
                "Điều 1. Hủy các tài liệu hết giá trị có tên trong danh mục sau:"
                if approve
                else "Không hủy các tài liệu sau:",
            ],
            header=HEADER,
            rows=rows(listed(session, disposition)),
            widths_mm=WIDTHS,
            after=[f"Điều 2. Việc hủy được thực hiện trong {EXECUTION_DAYS} ngày kể từ ngày ký." if approve else ""],
            signers=["HIỆU TRƯỞNG"],
        ),
        sign,
    )
    signed = sign is not None
    with filed(session, store, tmp_dir, actor, paper, disposition):
        disposition.decision_number = decision_number.strip()
        disposition.approved = approve
        disposition.decided_by_id = actor.id
        disposition.decided_at = now
        disposition.decision_signed = signed
        disposition.state = DispositionState.decided if approve else DispositionState.rejected
        if not approve:
            back_to_review(session, disposition)
        audit.append(
            session,
            actor=actor,
            action="disposition.decided",
            object_type="disposition",
            object_id=disposition.id,
            school_id=disposition.school_id,
            details={"approve": approve, "decision_number": disposition.decision_number, "signed": signed},
        )
    return disposition
