"""The shapes of a staff-list import: the lines read from the file, the preview, the accounts made."""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

from archive.models import Role


class StaffLine(BaseModel):
    """One row of the file as text, before any check (posted back by the preview page to confirm)."""

    row: int = Field(ge=1, le=1_000_000)
    full_name: str = Field(default="", max_length=1000)
    username: str = Field(default="", max_length=1000)
    roles: str = Field(default="", max_length=1000)
    email: str = Field(default="", max_length=1000)
    national_id: str = Field(default="", max_length=1000)


class Problem(BaseModel):
    """Why a row (or the file) is refused, naming the row and the column, in both languages."""

    vi: str
    en: str


class StaffRowOut(BaseModel):
    row: int = Field(description="The row number as the spreadsheet shows it (the header is row 1)")
    full_name: str
    username: str
    roles: list[Role]
    email: str | None
    national_id: str | None
    problems: list[Problem]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.problems


class StaffPreview(BaseModel):
    """What an import would do: each row's account, or why the row is refused; nothing written yet."""

    school_code: str
    school_name: str
    columns: list[str] = Field(description="The columns recognised, by their names in the file")
    rows: list[StaffRowOut]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def refused(self) -> int:
        return sum(1 for r in self.rows if r.problems)


class StaffAccount(BaseModel):
    """A person the import made, with the one-time password they change at first login (shown once)."""

    row: int
    username: str
    full_name: str
    roles: list[Role]
    password: str


class StaffImportOut(BaseModel):
    school_code: str
    created: list[StaffAccount]


class OneTimePassword(BaseModel):
    """A password reset by an administrator: shown once, changed by its person at first login."""

    username: str
    password: str
