"""Inspection grants over HTTP: the decision that opens schools' records to an inspector, and its view.

Apart from archive/schemas.py, which holds the kernel's other request and response models, to keep
each file one screenful of concepts."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from archive.schemas import Out, RequiredText, SchoolYear


class GrantCreate(BaseModel):
    """An inspection decision's access: who, which schools, types and school years, until when."""

    inspector: str = Field(min_length=1, max_length=100, description="The inspector's username")
    decision_number: RequiredText = Field(min_length=1, max_length=100, description="Số quyết định thanh tra")
    decision_date: date | None = None
    school_codes: list[str] = Field(
        default_factory=list, max_length=2000, description="Empty with unit_code: every school under the unit"
    )
    unit_code: str | None = Field(
        default=None, max_length=32, description="A Sở's or Phòng's grant: its head grants its inspector"
    )
    record_types: list[str] = Field(default_factory=list, max_length=50, description="Empty: every type")
    school_years: list[SchoolYear] = Field(min_length=1, max_length=10)
    expires_at: datetime = Field(description="When the access ends (at most a year ahead)")

    @model_validator(mode="after")
    def _some_schools(self) -> GrantCreate:
        if not self.school_codes and not self.unit_code:
            raise ValueError("hãy chọn trường, hoặc đơn vị có các trường đó / name the schools or their unit")
        return self


class GrantRevoke(BaseModel):
    reason: RequiredText = Field(min_length=1, max_length=1000)


class GrantOut(Out):
    id: int
    inspector: str
    inspector_name: str
    granted_by: str
    decision_number: str
    decision_date: date | None
    school_codes: list[str]
    unit_code: str | None = None
    record_types: list[str]
    school_years: list[str]
    expires_at: datetime
    created_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    active: bool
    seal_fingerprint: str = Field(
        description="SHA-256 fingerprint of the archive's seal certificate: the inspector checks an evidence "
        "package with `hoso verify --seal-fingerprint`"
    )
