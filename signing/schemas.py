"""Request and response models of the signing routes: approvals, registered certificates, statistics.

The response models carry exactly the keys the routes have always returned, so `/openapi.json`
documents every body without changing one. Times are written as Python's `isoformat()` (with
`+00:00`, as the routes wrote them before they had models), not pydantic's `Z`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from archive.schemas import IsoTime, RowId
from signing.remote import PREPARE_LIMIT
from signing.validate import Verdict

# -- requests ----------------------------------------------------------------------------------------


class SubmitIn(BaseModel):
    period: str | None = Field(default=None, description="2026-11 (monthly), 2026-W47, 2025-2026-HK1, 2025-2026")
    note: str | None = Field(default=None, max_length=2000)


class DecisionItem(BaseModel):
    item_id: RowId
    decision: Literal["approved", "returned"]
    comment: str | None = Field(default=None, max_length=2000)


class DecisionsIn(BaseModel):
    decisions: list[DecisionItem] = Field(min_length=1, max_length=5000)


class PrepareIn(BaseModel):
    certificate: str = Field(description="The signer's certificate, DER in base64, as read from the token")
    chain: list[str] = Field(default_factory=list, max_length=10, description="CA certificates, DER in base64")
    level: str | None = Field(default=None, description="B-B, B-T, B-LT or B-LTA")
    limit: int = Field(default=PREPARE_LIMIT, description="Documents per chunk (1-500)")
    confirm_certificate: str | None = Field(
        default=None,
        max_length=100,
        description="The certificate's SHA-256 fingerprint, the signer confirming on its first use it is theirs",
    )


class SignatureValue(BaseModel):
    id: str = Field(max_length=36, description="The prepared document's id")
    signature: str = Field(max_length=20000, description="The signature value over the digest, base64")


class CompleteIn(BaseModel):
    signatures: list[SignatureValue] = Field(max_length=500)


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="Why, e.g. 'mất USB token'")


# -- approvals -----------------------------------------------------------------------------------------


class Counts(BaseModel):
    pending: int
    approved: int
    returned: int
    signed: int
    failed: int


class ItemOut(BaseModel):
    id: int
    batch_id: str
    record_id: str
    title: str
    record_type: str
    subject: str | None
    grade: int | None
    class_name: str | None
    teacher: str
    teacher_name: str
    version: int
    submitted_at: IsoTime
    note: str | None
    preview_url: str
    decision: str = Field(description="pending, approved or returned")
    decided_by: str | None
    decided_at: IsoTime | None
    comment: str | None
    sign_state: str = Field(description="unsigned, signed or failed")
    signed_version: int | None
    stamp_place: str | None = Field(description="Where the signature shows (signing.models.StampPlace)")
    error: str | None


class BatchOut(BaseModel):
    id: str
    school_code: str
    period: str
    round: int
    state: str = Field(description="open, signing or signed")
    signer: str | None
    signer_title: str | None
    level: str | None
    key_source: str | None
    approval_record_id: str | None
    last_error: str | None
    created_at: IsoTime
    started_at: IsoTime | None
    finished_at: IsoTime | None
    counts: Counts


class BatchWithItemsOut(BatchOut):
    items: list[ItemOut]


class FailedItem(BaseModel):
    item_id: int
    record_id: str
    error: str


class PlacedItem(BaseModel):
    """A signed item whose signature is not where a reader looks first (signing.placement.NOTEWORTHY)."""

    item_id: int
    record_id: str
    title: str
    stamp_place: str


class PreparedOut(BaseModel):
    id: str
    target: str = Field(description="item:<id>, or record:<batch id> for the approval record")
    record_id: str
    title: str
    kind: str = Field(description="pades or cades_detached")
    digest_algorithm: str
    digest: str = Field(description="SHA-256 of the signed attributes, hex: what the key signs")
    signed_attributes: str = Field(description="The CMS signed attributes, DER in base64")


class PrepareOut(BaseModel):
    batch_id: str
    level: str
    expires_in: int = Field(description="Seconds until these preparations expire")
    items: list[PreparedOut]
    failed: list[FailedItem]
    counts: Counts


class CompleteOut(BaseModel):
    batch_id: str
    state: str
    signed: int
    placed: list[PlacedItem]
    approval_record_id: str | None
    counts: Counts


class SignatureReport(BaseModel):
    """One signature's validation (signing/validate.py); a key a kind of signature lacks is absent."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="pades, cades_detached or document_timestamp")
    verdict: Verdict = Field(description="The typed verdict; summary_vi is its Vietnamese text")
    summary_vi: str
    intact: bool
    valid: bool
    trusted: bool
    signer: dict[str, str]
    field: str | None = None
    signing_time: str | None = None
    timestamp_time: str | None = None
    timestamp_valid: bool | None = None
    timestamp_intact: bool | None = None
    timestamp_signer: dict[str, str] | None = None
    revocation: str | None = None
    revocation_vi: str | None = None
    test_certificate: bool | None = None
    subfilter: str | None = None
    level: str | None = None
    coverage: str | None = None
    changes_after_signing: str | None = None
    changes_vi: str | None = None
    modified_after_signing: bool | None = None
    signature_id: int | None = None
    p7s_url: str | None = None


class SignaturesOut(BaseModel):
    record_id: str
    version: int
    sha256: str
    checked_at: str
    all_valid: bool
    signatures: list[SignatureReport]


# -- registered certificates -----------------------------------------------------------------------------


class CertificateOut(BaseModel):
    id: int
    person: str
    fingerprint: str = Field(description="SHA-256 of the certificate's DER, hex")
    subject: str
    common_name: str
    serial: str
    issuer: str
    national_id: str | None = Field(description="CMND/CCCD as the certificate's subject carries it, if it does")
    not_before: datetime
    not_after: datetime
    registered_at: datetime
    registered_by: str | None
    how: str = Field(description="first_use (confirmed by its person while signing) or admin")
    name_differs: bool = Field(description="The certificate's name is not the person's full name (accepted explicitly)")
    revoked_at: datetime | None
    revoked_by: str | None
    revoked_reason: str | None


class SchoolSealOut(BaseModel):
    """A seal certificate registered to a school (signing/seal_ownership.py)."""

    id: int
    school_code: str
    fingerprint: str = Field(description="SHA-256 of the certificate's DER, hex")
    subject: str
    serial: str
    issuer: str
    not_before: datetime
    not_after: datetime
    registered_at: datetime
    registered_by: str
    how: str = Field(description="first_use (confirmed by the clerk or principal when issuing a copy) or admin")


# -- statistics -------------------------------------------------------------------------------------------


class StatisticsRow(BaseModel):
    key: str
    label: str
    submitted: int
    approved: int
    returned: int
    pending: int
    signed: int
    recordings: int | None = Field(description="Recorded lessons (teachers only)")
    meets_target: bool | None = Field(description="At least the target of recorded lessons (teachers only)")


class StatisticsOut(BaseModel):
    school_code: str
    school_name: str
    period: str
    period_label: str
    school_year: str
    month: int
    target_recordings: int
    totals: StatisticsRow
    by_teacher: list[StatisticsRow]
    by_subject: list[StatisticsRow]
    by_class: list[StatisticsRow]


class SchoolMonthOut(BaseModel):
    """One school's month on its unit's dashboard (signing/compliance.py)."""

    code: str
    name: str
    unit_code: str
    unit_name: str
    deadline: date
    submitted: int
    approved: int
    returned: int
    pending: int
    signed: int
    batches: int
    signed_batches: int
    teachers: int
    under_target: int = Field(description="Teachers with fewer recorded online lessons this month than the target")
    state: str = Field(description="signed | unsigned | nothing")
    overdue: bool = Field(description="Not signed and past the unit's deadline")


class ComplianceOut(BaseModel):
    unit_code: str
    unit_name: str
    period: str
    period_label: str
    target_recordings: int
    schools: list[SchoolMonthOut]
    overdue_codes: list[str]
    totals: dict[str, int]
