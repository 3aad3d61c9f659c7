"""Validated shapes of what comes in (metadata, people, schools) and what goes out."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from annotated_types import Interval
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from archive.models import Role

# A time in a response written as `datetime.isoformat()` (`…+00:00`), as the routes that returned plain
# dicts wrote it before they got response models; pydantic alone would write `…Z`. Models that always
# had a schema (RecordOut, GrantOut, …) keep pydantic's form.
IsoTime = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json")]

# [0-9], not \d: \d also matches Arabic-Indic and other digits ("٢٠٢٥-٢٠٢٦"), which int() reads as
# 2025 but no grant, filter or folder name spelled in ASCII ever matches.
_SCHOOL_YEAR = re.compile(r"([0-9]{4})-([0-9]{4})")

DB_INT_MAX = 2**31 - 1
"""The largest PostgreSQL `integer`, the type of every id and version-number column. A larger number
names no row, but sent to the database it fails the query (a 500 on PostgreSQL, an OverflowError in
SQLite past 2**63), so such a number is refused where it comes in, as bad input."""

RowId = Annotated[int, Interval(ge=1, le=DB_INT_MAX)]
"""An id or a version number in a path, a query or a body: 1 … DB_INT_MAX."""

PageNumber = Annotated[int, Interval(ge=1, le=1_000_000)]
"""A page of a listing; beyond a million pages there is nothing to show, and OFFSET stays in range."""


def clean_text(value: str) -> str:
    """NFC-normalise, trim, and refuse control characters (they hide text and break exports)."""
    value = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise ValueError("không được chứa ký tự điều khiển / must not contain control characters")
    return value


Text = Annotated[str, AfterValidator(clean_text)]


def clean_required_text(value: str) -> str:
    """`clean_text`, and something must be left: a title of spaces is no title (min_length counts them)."""
    value = clean_text(value)
    if not value:
        raise ValueError("không được để trống (chỉ có dấu cách) / must not be blank (spaces only)")
    return value


RequiredText = Annotated[str, AfterValidator(clean_required_text)]


def check_school_year(value: str) -> str:
    """The one validator of a school year wherever one is accepted (records, import, grants, filters, search)."""
    match = _SCHOOL_YEAR.fullmatch(value)
    if not match or int(match.group(2)) != int(match.group(1)) + 1 or not 1950 <= int(match.group(1)) <= 2200:
        raise ValueError(
            f"năm học phải có dạng 2025-2026 (hai năm liên tiếp), nhận được {value!r} / "
            f"school year must look like 2025-2026 (consecutive years), got {value!r}"
        )
    return value


SchoolYear = Annotated[str, AfterValidator(check_school_year)]


def check_filename(value: str) -> str:
    """A plain file name: no folders, no traversal, no control characters, at most 255 bytes."""
    name = unicodedata.normalize("NFC", value)
    if not name.strip():
        raise ValueError("tên tệp trống / empty file name")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith(".."):
        raise ValueError(f"tên tệp không được chứa đường dẫn: {value!r} / file name must not contain a path")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise ValueError("tên tệp chứa ký tự điều khiển / file name contains control characters")
    if len(name.encode()) > 255:
        raise ValueError("tên tệp quá dài (tối đa 255 byte) / file name too long (max 255 bytes)")
    return name


class DocumentMetadata(BaseModel):
    """TT 05/2025/TT-BNV document metadata; all optional, names as in the circular."""

    model_config = ConfigDict(extra="forbid")

    docCode: Text | None = Field(default=None, max_length=100)
    maintenance: Text | None = Field(default=None, max_length=50)
    typeName: Text | None = Field(default=None, max_length=200)
    codeNumber: Text | None = Field(default=None, max_length=50)
    codeNotation: Text | None = Field(default=None, max_length=100)
    issuedDate: date | None = None
    organName: Text | None = Field(default=None, max_length=300)
    language: Text | None = Field(default=None, max_length=50)
    numberOfPage: int | None = Field(default=None, ge=0)
    inforSign: Text | None = Field(default=None, max_length=200)
    keyword: Text | None = Field(default=None, max_length=500)
    mode: Text | None = Field(default=None, max_length=50)
    confidenceLevel: Text | None = Field(default=None, max_length=50)
    autograph: Text | None = Field(default=None, max_length=200)
    format: Text | None = Field(default=None, max_length=50)
    riskRecovery: Text | None = Field(default=None, max_length=50)
    riskRecoveryStatus: Text | None = Field(default=None, max_length=50)
    process: Text | None = Field(default=None, max_length=200)
    description: Text | None = Field(default=None, max_length=2000)


class RecordCreate(BaseModel):
    """What a teacher or clerk says about an upload; the file itself is streamed beside it."""

    model_config = ConfigDict(extra="forbid")

    school_code: RequiredText = Field(min_length=1, max_length=32)
    record_type: RequiredText = Field(min_length=1, max_length=64)
    title: RequiredText = Field(min_length=1, max_length=500)
    school_year: SchoolYear
    subject: Text | None = Field(default=None, max_length=100)
    grade: int | None = Field(default=None, ge=1, le=12)
    class_name: Text | None = Field(default=None, max_length=20)
    semester: int | None = Field(default=None, ge=1, le=2)
    month: int | None = Field(default=None, ge=1, le=12)
    dossier_id: str | None = Field(default=None, max_length=36)
    doc_metadata: DocumentMetadata = Field(default_factory=DocumentMetadata)


class Patch(BaseModel):
    """A partial update: a field left out stays as it is, and null clears it only where a blank means
    something. Without this check a null title or name reached a NOT NULL column (a 500), and a null
    `active` disabled the account."""

    model_config = ConfigDict(extra="forbid")
    never_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _values_where_blank_means_nothing(self) -> Self:
        nulled = sorted(name for name in self.model_fields_set & self.never_null if getattr(self, name) is None)
        if nulled:
            fields = ", ".join(nulled)
            raise ValueError(
                f"{fields}: không được để null; bỏ trường đi nếu không muốn đổi / "
                f"{fields}: must not be null; leave the field out to keep it unchanged"
            )
        return self


class VersionMetadataUpdate(Patch):
    """Fields a new version may correct (title, subject, …); the school and type never change."""

    never_null = frozenset({"title"})

    title: RequiredText | None = Field(default=None, min_length=1, max_length=500)
    subject: Text | None = Field(default=None, max_length=100)
    grade: int | None = Field(default=None, ge=1, le=12)
    class_name: Text | None = Field(default=None, max_length=20)
    semester: int | None = Field(default=None, ge=1, le=2)
    month: int | None = Field(default=None, ge=1, le=12)
    doc_metadata: DocumentMetadata | None = None


class SchoolCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: RequiredText = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: RequiredText = Field(min_length=1, max_length=300)
    district: Text | None = Field(default=None, max_length=200)
    province: Text | None = Field(default=None, max_length=200)


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: RequiredText = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    full_name: RequiredText = Field(min_length=1, max_length=200)
    password: str = Field(min_length=10, max_length=200)
    national_id: Text | None = Field(default=None, max_length=32)
    email: Text | None = Field(default=None, max_length=200)
    must_change_password: bool = False


class PersonUpdate(Patch):
    never_null = frozenset({"full_name", "active", "password"})

    full_name: RequiredText | None = Field(default=None, min_length=1, max_length=200)
    email: Text | None = Field(default=None, max_length=200)
    national_id: Text | None = Field(default=None, max_length=32)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)


class MembershipCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    school_code: Text | None = None

    @model_validator(mode="after")
    def _school_matches_role(self) -> MembershipCreate:
        # admin and inspector are not of a school: an inspector reads only what grants allow
        if self.role in (Role.admin, Role.inspector) and self.school_code:
            raise ValueError(
                f"vai trò {self.role.value} không gắn với trường (thanh tra đọc theo quyết định thanh tra) / "
                f"the {self.role.value} role is not tied to a school (inspectors read through grants)"
            )
        if self.role not in (Role.admin, Role.inspector) and not self.school_code:
            raise ValueError("cần mã trường cho vai trò này / this role needs a school_code")
        return self


class PasswordChange(BaseModel):
    current_password: str
    new_password: str = Field(min_length=10, max_length=200)


class UploadIn(BaseModel):
    """A resumable upload's start: the record's metadata, the file's name and its whole size."""

    metadata: RecordCreate
    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(gt=0)


# -- output ------------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    must_change_password: bool


class UploadOut(BaseModel):
    id: str
    filename: str
    size: int
    offset: int = Field(description="The bytes received so far: the next chunk starts here")
    state: str = Field(description="open | done (record_id is the record made) | cancelled")
    record_id: str | None
    expires_at: IsoTime
    url: str
    scan_warnings: list[ScanWarning] = Field(default=[], description="Once done: what TT 05/2025's check found")


class SchoolOut(Out):
    code: str
    name: str
    district: str | None
    province: str | None


class MembershipOut(Out):
    id: int
    role: str
    school_code: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if hasattr(data, "school"):
            return {"id": data.id, "role": data.role, "school_code": data.school.code if data.school else None}
        return data


class PersonOut(Out):
    id: int
    username: str
    full_name: str
    email: str | None
    national_id: str | None
    active: bool
    must_change_password: bool
    memberships: list[MembershipOut]


class RecordTypeOut(Out):
    code: str
    name_vi: str
    name_en: str
    retention_permanent: bool
    retention_years: int | None
    retention_basis: str
    retention_confirmed: bool
    signing_cadence: str | None
    signer_roles: list[str]
    allowed_media_types: list[str]
    legal_basis: str
    scan_policy: str = Field(description="TT 05/2025 Điều 8 for scans below the floor: warn (keep) or refuse")
    scan_min_dpi: int = Field(description="200; 300 for maps and drawings")


class ScanRuleIn(BaseModel):
    """An archivist's change of a record type's scan rule (archive/scan_rules.py), with the reason."""

    policy: Literal["warn", "refuse"] = Field(description="warn: kept, with the warning shown; refuse: 422")
    min_dpi: int = Field(description="200 (TT 05/2025 Điều 8) to 1200")
    reason: RequiredText = Field(min_length=1, max_length=2000)


class VersionOut(Out):
    number: int
    sha256: str
    size: int
    media_type: str
    original_filename: str
    kind: str
    created_by: str
    created_at: datetime
    derived_from: int | None = None  # a rendition (kind derived): the version it was made from
    format_puid: str | None = None  # PRONOM identifier, e.g. fmt/412 (archive/formats.py)
    format_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if hasattr(data, "blob_sha256"):
            return {
                "number": data.number,
                "sha256": data.blob_sha256,
                "size": data.size,
                "media_type": data.media_type,
                "original_filename": data.original_filename,
                "kind": data.kind,
                "created_by": data.created_by.username,
                "created_at": data.created_at,
                "derived_from": data.derived_from,
                "format_puid": data.format_puid,
                "format_name": data.format_name,
            }
        return data


class PagesOut(BaseModel):  # a PDF version's page count, for the viewer beside the queue (archive/preview.py)
    record_id: str
    version: int
    pages: int


class ScanWarning(BaseModel):
    """What a scan or photo falls short of in TT 05/2025 Điều 8 (archive/scan_quality.py): stored
    all the same, when its record type warns rather than refuses."""

    message: str = Field(description="Vietnamese, as the uploader reads it")
    message_en: str


class RecordOut(Out):
    id: str
    school_code: str
    record_type: str
    title: str
    subject: str | None
    grade: int | None
    class_name: str | None
    school_year: str
    semester: int | None
    month: int | None
    status: str
    author: str
    author_name: str
    dossier_id: str | None
    doc_metadata: dict[str, Any]
    current_version: int
    created_at: datetime
    updated_at: datetime
    scan_warnings: list[ScanWarning] = Field(default=[], description="On an upload's answer: TT 05/2025 checks")

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if hasattr(data, "school") and hasattr(data, "record_type"):
            return {
                **{
                    k: getattr(data, k)
                    for k in (
                        "id",
                        "title",
                        "subject",
                        "grade",
                        "class_name",
                        "school_year",
                        "semester",
                        "month",
                        "status",
                        "dossier_id",
                        "doc_metadata",
                        "current_version",
                        "created_at",
                        "updated_at",
                    )
                },
                "school_code": data.school.code,
                "record_type": data.record_type.code,
                "author": data.author.username,
                "author_name": data.author.full_name,
            }
        return data


class RecordPage(BaseModel):
    items: list[RecordOut]
    total: int
    page: int
    page_size: int


class AuditEventOut(Out):
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    hash: str


class RecordFilters(BaseModel):
    school_code: str | None = None
    school_year: str | None = None
    record_type: str | None = None
    subject: str | None = None
    grade: int | None = Field(default=None, ge=1, le=12)
    month: int | None = Field(default=None, ge=1, le=12)
    author: str | None = None
    status: str | None = None

    @field_validator("school_year")
    @classmethod
    def _year(cls, value: str | None) -> str | None:
        return check_school_year(value) if value else value


class HealthOut(BaseModel):
    """`GET /health`: the process answers (a load balancer's check; it touches neither database nor store)."""

    status: str
