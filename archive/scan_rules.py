"""The schedule's TT 05/2025 Điều 8 rule for scans, per record type, edited by whoever keeps the schedule.

The circular sets the floor (≥ 200 dpi, 300 for maps and drawings); what to do with a scan below
it differs by record: a học bạ scanned at 150 dpi is better kept with a warning than lost, a
drawing for a building dossier is better refused and scanned again. So `scan_policy` and
`scan_min_dpi` are data beside the retention term (seeded from archive/data/record_types.yaml,
never overwritten by a restart), and a change is audited with its reason like a change of term.
Like the retention schedule, the rule is the installation's, one per record type for every school
it serves, so it is kept by whoever answers for all of them (`access.keeps_schedule`). The floor
can be raised, never put below the type's own in the seeded schedule (the law's: 300 for
drawings). It applies to uploads from now on: a scan already stored keeps the facts it was checked
with (`ScanFacts`), the check an inspector can read back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import access, audit, seed
from archive.db import write_transaction
from archive.exceptions import Forbidden, InvalidInput, NotFound
from archive.models import Person, RecordType
from archive.scan_quality import MIN_DPI, ScanPolicy

MAX_DPI = 1200  # above this no school scanner goes; a typo (2000 for 200) is refused, not obeyed


def legal_floor(code: str) -> int:
    """The type's floor in the shipped schedule (200; 300 for maps and drawings), never below the law's."""
    row = next((r for r in seed.schedule_rows() if r["code"] == code), {})
    return max(MIN_DPI, int(row.get("scan_min_dpi", MIN_DPI)))


def set_rule(session: Session, actor: Person, code: str, *, policy: str, min_dpi: int, reason: str) -> RecordType:
    """Change one record type's scan rule, audited with the reason; new uploads are checked by it."""
    if not access.keeps_schedule(session, actor):
        raise Forbidden(*access.SCHEDULE_KEEPERS)
    if policy not in set(ScanPolicy):
        raise InvalidInput(
            "Cách xử lý ảnh quét chưa đạt phải là 'warn' (nhận, kèm cảnh báo) hoặc 'refuse' (từ chối).",
            "The scan policy is 'warn' (keep, with a warning) or 'refuse'.",
            policy=policy,
        )
    floor = legal_floor(code)
    if not floor <= min_dpi <= MAX_DPI:
        raise InvalidInput(
            f"Độ phân giải tối thiểu phải từ {floor} dpi (Thông tư 05/2025, Điều 8) đến {MAX_DPI} dpi.",
            f"The minimum resolution is {floor} dpi (TT 05/2025, art. 8) to {MAX_DPI} dpi.",
            min_dpi=min_dpi,
        )
    if not reason.strip() or len(reason) > 2000:
        raise InvalidInput("Hãy ghi lý do thay đổi (tối đa 2000 ký tự).", "Give the reason (at most 2000 characters).")
    rtype = session.scalar(select(RecordType).where(RecordType.code == code))
    if rtype is None:
        raise NotFound(f"Không có loại hồ sơ {code!r}.", f"No record type {code!r}.")
    before = {"policy": rtype.scan_policy, "min_dpi": rtype.scan_min_dpi}
    with write_transaction(session):
        rtype.scan_policy, rtype.scan_min_dpi = policy, min_dpi
        audit.append(
            session,
            actor=actor,
            action="record_type.scan_rule_changed",
            object_type="record_type",
            object_id=code,
            details={"before": before, "after": {"policy": policy, "min_dpi": min_dpi}, "reason": reason.strip()},
        )
    return rtype
