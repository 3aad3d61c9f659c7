"""Copy requests over the API: what is asked, and what a request and its copy look like."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from retention.copies.models import CopyKind, CopyRequest, CopyState


class CopyIn(BaseModel):
    record_id: str = Field(max_length=36)
    kind: CopyKind
    purpose: str = Field(max_length=500)
    read_until: date | None = Field(default=None, description="A read copy's last day (Vietnam time)")


class CopyRefuse(BaseModel):
    reason: str = Field(max_length=500)


class CopyOut(BaseModel):
    id: str
    record_id: str
    record_title: str
    school_code: str
    kind: CopyKind
    state: CopyState
    purpose: str
    read_until: date | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    refuse_reason: str | None
    number: str | None
    original_sha256: str | None
    sha256: str | None
    size: int | None
    seal_subject: str | None

    @classmethod
    def of(cls, copy: CopyRequest) -> CopyOut:
        return cls(
            id=copy.id,
            record_id=copy.record_id,
            record_title=copy.record.title,
            school_code=copy.school.code,
            kind=CopyKind(copy.kind),
            state=CopyState(copy.state),
            purpose=copy.purpose,
            read_until=copy.read_until,
            requested_by=copy.requested_by.username,
            requested_at=copy.requested_at,
            decided_by=copy.decided_by.username if copy.decided_by else None,
            decided_at=copy.decided_at,
            refuse_reason=copy.refuse_reason,
            number=copy.number or None,
            original_sha256=copy.source_sha256,
            sha256=copy.sha256,
            size=copy.size,
            seal_subject=copy.seal_subject,
        )
