"""Validated shapes of retention's requests and of every body its routes return.

The response models name exactly the keys the routes have always returned (the web pages and the
CLI read the same dictionaries), so `/openapi.json` documents each body without changing one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from archive.schemas import IsoTime, RequiredText, RowId, SchoolYear, Text

# -- requests -------------------------------------------------------------------------------------


class PeriodIn(BaseModel):
    permanent: bool = False
    years: int | None = Field(default=None, description="2–70 unless permanent")
    reason: RequiredText = Field(min_length=1, max_length=2000)
    citation: RequiredText = Field(
        min_length=1, max_length=1000, description="e.g. TT 08/2025/TT-BGDĐT, Phụ lục, mục 3.2"
    )
    future_only: bool = Field(default=False, description="A shorter term for new records only")


class HoldIn(BaseModel):
    reason: RequiredText = Field(min_length=1, max_length=2000)
    reference: Text | None = Field(default=None, max_length=200, description="e.g. the decision number")
    record_ids: list[str] | None = Field(default=None, max_length=10000)
    dossier_id: str | None = None
    school_code: str | None = None
    school_year: SchoolYear | None = None
    record_type: str | None = None


class ReleaseIn(BaseModel):
    reason: RequiredText = Field(min_length=1, max_length=2000)


class ProposalItem(BaseModel):
    record_id: str
    explanation: RequiredText = Field(min_length=1, max_length=1000, description="Why it has no value any more")


class ProposalIn(BaseModel):
    school_code: str
    explanation: RequiredText = Field(min_length=1, max_length=4000, description="Thuyết minh of the list")
    items: list[ProposalItem] = Field(min_length=1, max_length=20000)


class Member(BaseModel):
    name: RequiredText = Field(min_length=1, max_length=200)
    title: Text = Field(default="", max_length=200)


class CouncilIn(BaseModel):
    members: list[Member] = Field(min_length=1, max_length=20)
    establishment_decision: RequiredText = Field(min_length=1, max_length=300, description="e.g. QĐ số 12/QĐ-THA")
    minutes: RequiredText = Field(min_length=1, max_length=20000)
    opinion: str = Field(description="agree or disagree")
    notes: Text = Field(default="", max_length=4000)


class TransferIn(BaseModel):
    school_code: str
    school_year: SchoolYear


# -- responses ------------------------------------------------------------------------------------


class ScheduleRow(BaseModel):
    """One record type's row of the retention schedule."""

    code: str
    name_vi: str
    name_en: str
    permanent: bool
    years: int | None
    basis: str
    confirmed: bool = Field(description="The archivist confirmed the row (the shipped defaults are not)")
    scan_policy: str = Field(description="Scans under the floor: warn (kept) or refuse (PATCH …/scan-rule)")
    scan_min_dpi: int


class PeriodOut(BaseModel):
    code: str
    permanent: bool
    years: int | None


class HoldBrief(BaseModel):
    id: int
    reason: str
    reference: str | None


class RetentionStatus(BaseModel):
    """What the archive keeps about a record's retention, in words for people."""

    record_id: str
    permanent: bool
    keep_until_year: int | None
    eligible_from: str | None = Field(description="ISO date from which it may be reviewed for destruction")
    state: str = Field(description="active | review | proposed | destroyed | transferred")
    locked_until: str | None = Field(description="ISO date until which the store locks its blobs")
    holds: list[HoldBrief]
    summary_vi: str
    summary_en: str


class HoldOut(BaseModel):
    id: int
    kind: str = Field(description="records | dossier | filter")
    reason: str
    reference: str | None
    records: int = Field(description="How many records it covers now")
    created_by: str
    created_at: IsoTime
    released_at: IsoTime | None
    release_reason: str | None
    active: bool


class SweepOut(BaseModel):
    computed: int
    recomputed: int
    moved_to_review: int
    in_review: int


class FixityQueued(BaseModel):
    job_id: int
    state: str


class FixityRunOut(BaseModel):
    """A fixity run as the caller may see it (an administrator everything, others their schools' findings)."""

    id: int
    state: str = Field(description="running | ok | problems | failed | interrupted")
    started_at: IsoTime
    finished_at: IsoTime | None
    started_by: str | None
    blobs_checked: int
    bytes_checked: int
    mismatched: list[dict[str, Any]]
    missing: list[str]
    audit_events_checked: int
    audit_problems: list[str]
    tampered: list[dict[str, Any]]
    orphans: list[dict[str, Any]]
    orphans_found: int
    anchor_key: str | None
    error: str | None


class ReviewRow(BaseModel):
    """A record past its term, not held, waiting for a destruction proposal ("Xem xét hủy")."""

    record_id: str
    title: str
    record_type: str
    school_year: str
    keep_until_year: int | None
    review_since: IsoTime | None


class DispositionItemOut(BaseModel):
    record_id: str
    title: str
    explanation: str
    tombstone: dict[str, Any] | None = Field(description="What remains once destroyed: metadata and every hash")


class DispositionOut(BaseModel):
    id: int
    state: str = Field(description="proposed | reviewed | decided | executed | rejected | lapsed")
    school_id: int
    explanation: str
    proposed_at: IsoTime
    council: dict[str, Any] | None
    decision_number: str | None
    approved: bool | None
    decided_at: IsoTime | None
    decision_signed: bool
    execute_before: IsoTime | None
    executed_at: IsoTime | None
    documents: dict[str, str] = Field(description="Each step's document: step → record id")
    items: list[DispositionItemOut]


class TransferDue(BaseModel):
    school_year: str
    records: int
    due: str = Field(description="ISO date")
    alert: bool = Field(description="Due within 30 days, or overdue")


class TransferOut(BaseModel):
    id: str
    school_year: str
    records: int
    size: int
    sha256: str
    download_url: str


# -- dossiers (hồ sơ): the yearly list, filing, closing, handing over ----------------------------


class DossierListIn(BaseModel):
    school_code: RequiredText = Field(min_length=1, max_length=32)
    school_year: SchoolYear
    grades: list[int] = Field(default_factory=list, max_length=12, description="The school's grades (1–12)")
    subjects: list[Text] = Field(default_factory=list, max_length=40, description="The subjects taught")
    file_code_pattern: Text | None = Field(
        default=None, max_length=60, description="e.g. {year}.{heading}.{number} (the default)"
    )


class DossierIn(BaseModel):
    record_type: RequiredText = Field(min_length=1, max_length=64)
    title: RequiredText = Field(min_length=1, max_length=500)
    file_code: Text | None = Field(default=None, max_length=100, description="Default: the next number")
    keeper_id: RowId | None = Field(default=None, description="The person who keeps the dossier")
    permanent: bool | None = None
    years: int | None = Field(default=None, description="2–70 unless permanent")


class DossierEdit(BaseModel):
    title: Text | None = Field(default=None, max_length=500)
    file_code: Text | None = Field(default=None, max_length=100)
    keeper_id: RowId | None = None
    permanent: bool | None = None
    years: int | None = Field(default=None, description="2–70 unless permanent")


class DossierIds(BaseModel):
    dossier_ids: list[str] = Field(min_length=1, max_length=5000)


class RefileIn(BaseModel):
    dossier_id: str = Field(min_length=1, max_length=36)
    reason: Text = Field(default="", max_length=1000)


class DossierOut(BaseModel):
    id: str
    file_code: str
    title: str
    school_year: str
    state: str = Field(description="planned | open | closed | handed_over")
    heading: str | None
    number: int | None
    record_type: str | None
    keeper: str | None
    keeper_id: int | None
    subject: str | None
    grade: int | None
    month: int | None
    maintenance: str | None = Field(description="The list's term as the list prints it")
    permanent: bool = Field(description="Kept permanently (its own term or a document's)")
    keep_until_year: int | None = Field(description="The last year it is kept: its longest document's term")
    start_date: date | None
    end_date: date | None
    records: int | None
    closed_at: IsoTime | None
    handover_id: int | None
    tt05: dict[str, Any] = Field(description="The 18 dossier fields of TT 05/2025/TT-BNV, completed at closing")


class DossierListOut(BaseModel):
    id: int
    school_code: str
    school_year: str
    state: str = Field(description="draft | approved")
    approved_by: str | None
    approved_at: IsoTime | None
    record_id: str | None = Field(description="The signed PDF of the approved list, a record")
    dossiers: list[DossierOut]


class UnfiledOut(BaseModel):
    id: str
    title: str
    school_year: str
    record_type: str
    author: str
    subject: str | None
    grade: int | None


class RecordDossierOut(BaseModel):
    record_id: str
    dossier: DossierOut


class HandoverPackageOut(BaseModel):
    """One handed-over dossier's SIP (TT 05/2025 form), built by a job after the handover."""

    dossier_id: str
    file_code: str
    state: str = Field(description="queued | ready | failed | destroyed (its documents were destroyed)")
    size: int | None
    sha256: str | None = Field(description="Of the ZIP as kept; also in the dossier.sip_kept audit event")
    error: str | None
    download: str | None = Field(description="Once ready: where the ZIP is downloaded")


class HandoverOut(BaseModel):
    id: int
    school_code: str
    dossiers: list[str] = Field(description="The file codes handed over")
    record_id: str | None = Field(description="The signed handover list, a record")
    created_at: IsoTime
    packages: list[HandoverPackageOut] = Field(default=[], description="Each dossier's SIP, as its job builds it")


class DossierDue(BaseModel):
    school_year: str
    dossiers: int
    due: date = Field(description="ISO date: within 1 year after the work ended (NĐ 30/2020 Phụ lục VI)")
    alert: bool = Field(description="Due within 30 days, or overdue")
