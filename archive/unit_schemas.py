"""The hierarchy over HTTP: a unit, a school made under it with its first principal, a person at a unit.

Apart from archive/schemas.py (the kernel's other models) to keep each file one screenful."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from archive.schemas import Out, RequiredText, SchoolCreate, Text
from archive.unit_models import UnitKind, UnitRole

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
Username = Annotated[str, Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: UnitKind
    code: Code
    name: RequiredText = Field(min_length=1, max_length=300, description="e.g. Phòng GDĐT Trảng Bom")
    area: Text | None = Field(default=None, max_length=200, description="The district or province it serves")
    parent_code: str | None = Field(default=None, max_length=32, description="A Phòng's Sở")
    signing_deadline_day: int = Field(default=5, ge=1, le=28, description="A month is signed by this day of the next")


class UnitDeadline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signing_deadline_day: int = Field(ge=1, le=28, description="A month is signed by this day of the next")


class UnitOut(Out):
    kind: UnitKind
    code: str
    name: str
    area: str | None
    parent_code: str | None
    signing_deadline_day: int
    school_count: int = 0


class FirstPrincipal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    full_name: RequiredText = Field(min_length=1, max_length=200)


class UnitSchoolCreate(SchoolCreate):
    """A school made by its Phòng's or Sở's administrator, with its first principal's account."""

    principal: FirstPrincipal | None = None


class UnitSchoolOut(BaseModel):
    code: str
    name: str
    district: str | None
    province: str | None
    unit_code: str
    principal_username: str | None = None
    one_time_password: str | None = Field(default=None, description="Shown once; changed at the first login")


class UnitPersonCreate(BaseModel):
    """A role at a unit for an existing account, or for a new one (given its full name)."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    role: UnitRole
    full_name: Text | None = Field(default=None, max_length=200, description="Given: a new account is made")


class UnitPersonOut(BaseModel):
    username: str
    full_name: str
    role: UnitRole
    unit_code: str
    one_time_password: str | None = None


class UnitPersonRemoved(BaseModel):
    unit_code: str
    username: str
    role: UnitRole
    grants_revoked: int = Field(description="The person's grants over the unit revoked with the role")
