"""SQL tables of the kernel (DESIGN §3). Versions are immutable; the audit log is append-only.

The dossier tables (a dossier, the yearly list, the handover) are the kernel's too, as the dossier is:
every record points at one. They live in `archive/dossier_models.py` and are importable from here.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    teacher = "teacher"
    department_head = "department_head"
    principal = "principal"
    vice_principal = "vice_principal"
    clerk = "clerk"
    archivist = "archivist"
    inspector = "inspector"
    admin = "admin"


class RecordStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    returned = "returned"
    destroyed = "destroyed"  # lawfully destroyed (TT 06/2025): metadata and hashes kept as a tombstone


class JobState(enum.StrEnum):
    queued = "queued"  # waiting for a worker (again, after a lease ran out or a retry)
    running = "running"  # claimed under a lease
    done = "done"
    failed = "failed"  # its last attempt failed; the error is kept


class UploadState(enum.StrEnum):
    open = "open"  # accepting chunks
    done = "done"  # the last chunk made the record
    cancelled = "cancelled"


class VersionKind(enum.StrEnum):
    original = "original"
    signed = "signed"
    derived = "derived"


class RenditionState(enum.StrEnum):
    queued = "queued"  # waiting for the worker (again, after a failed attempt: retried with back-off)
    running = "running"
    done = "done"  # its derived version exists
    failed = "failed"  # every attempt failed; the original stays usable and signable the old way


class RenditionTarget(enum.StrEnum):
    pdf = "pdf"  # a DOCX or XLSX shown, reviewed and stamped as a PDF
    poster = "poster"  # a recording's still frame (JPEG) for the queue, search and record pages
    stream = "stream"  # a recording re-encoded small (H.264/AAC ~480p) to play on weak internet
    pdfa = "pdfa"  # a scan or photo as searchable PDF/A-2b with a Vietnamese text layer (OCR)


def new_uuid() -> str:
    return str(uuid.uuid4())


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    district: Mapped[str | None] = mapped_column(String(200))
    province: Mapped[str | None] = mapped_column(String(200))
    # the school's file-code pattern (retention/dossiers/common.py FILE_CODE_PATTERN when None)
    file_code_pattern: Mapped[str | None] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)  # its Phòng or Sở
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    national_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # "iss|sub" of the Sở account bound at the first single sign-on (archive/sso.py); later ones match only this.
    oidc_subject: Mapped[str | None] = mapped_column(String(600), unique=True, index=True)
    # Raised on disable, delete and password change: every token issued before stops working.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(back_populates="person", lazy="selectin")
    unit_memberships: Mapped[list[UnitMembership]] = relationship(back_populates="person", lazy="selectin")


class Membership(Base):
    """A person's role at a school; an admin membership has no school (it is system-wide)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "school_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="memberships")
    school: Mapped[School | None] = relationship(lazy="joined")


class RecordType(Base):
    """A kind of record with its retention row and signing policy, kept as editable data."""

    __tablename__ = "record_types"
    __table_args__ = (
        CheckConstraint(
            "(retention_permanent AND retention_years IS NULL) OR "
            "(NOT retention_permanent AND retention_years BETWEEN 2 AND 70)",
            name="retention_period_valid",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    retention_permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_years: Mapped[int | None] = mapped_column(Integer)
    retention_basis: Mapped[str] = mapped_column(Text, default="")
    retention_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    signing_cadence: Mapped[str | None] = mapped_column(String(16))
    signer_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_media_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    # the heading (đề mục) of the yearly list its dossiers sit under; None: not on the yearly list
    # (hoso's own documents: destruction dossiers, the lists and handover lists themselves)
    dossier_heading: Mapped[str | None] = mapped_column(String(20))
    # one dossier per … (DossierGrouping values, in title order); empty: one dossier per year
    dossier_group_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    # TT 05/2025 Điều 8 for scans and photos (archive/scan_quality.py): refuse or warn, and the dpi
    # (200; 300 for maps and drawings)
    scan_policy: Mapped[str] = mapped_column(String(8), default="warn")
    scan_min_dpi: Mapped[int] = mapped_column(Integer, default=200)


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_school_year_type", "school_id", "school_year", "record_type_id"),
        Index("ix_records_author", "author_id"),
        Index("ix_records_dossier", "dossier_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    record_type_id: Mapped[int] = mapped_column(ForeignKey("record_types.id"))
    dossier_id: Mapped[str | None] = mapped_column(ForeignKey("dossiers.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(100))
    grade: Mapped[int | None] = mapped_column(Integer)
    class_name: Mapped[str | None] = mapped_column(String(20))
    school_year: Mapped[str] = mapped_column(String(9))
    semester: Mapped[int | None] = mapped_column(Integer)
    month: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.draft.value)
    # TT 05/2025/TT-BNV document metadata (docCode, codeNumber, organName, …), validated in schemas.
    doc_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # its number inside its dossier and its current version's pages, set when the dossier closes
    # (TT 05/2025 docOrdinal, numberOfPage; the file name in a package is file code + "." + ordinal)
    dossier_ordinal: Mapped[int | None] = mapped_column(Integer)
    page_count: Mapped[int | None] = mapped_column(Integer)

    school: Mapped[School] = relationship(lazy="joined")
    record_type: Mapped[RecordType] = relationship(lazy="joined")
    author: Mapped[Person] = relationship(lazy="joined")


class Blob(Base):
    """One stored byte sequence, addressed by its SHA-256; shared by every version with those bytes."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # set when the bytes were lawfully destroyed (an executed destruction decision): the row and its
    # hash stay as the tombstone's proof of what was destroyed; fixity no longer expects the bytes
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the S3 object version hoso wrote: reads, locks and fixity name it, so a later PutObject or
    # delete marker on the key changes nothing served (NULL on the folder store, and for blobs
    # stored before versions were recorded: those read the latest version)
    version_id: Mapped[str | None] = mapped_column(String(1024))
    # set when a download, a package or fixity found the stored bytes not hashing to the address:
    # the archivist's to investigate (listed on the fixity page)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flag_reason: Mapped[str | None] = mapped_column(String(400))


class Version(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("record_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    number: Mapped[int] = mapped_column(Integer)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(120))
    original_filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default=VersionKind.original.value)
    sidecar_key: Mapped[str] = mapped_column(String(400))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # PRONOM identification at ingest (archive/formats.py); NULL where fido knows no format
    format_puid: Mapped[str | None] = mapped_column(String(32))
    format_name: Mapped[str | None] = mapped_column(String(200))
    # a derived version (a rendition): the number of the version it was made from
    derived_from: Mapped[int | None] = mapped_column(Integer)

    created_by: Mapped[Person] = relationship(lazy="joined")


class Rendition(Base):
    """A rendition to make of one version (archive/renditions.py queues it, flows/renditions makes it).

    The row carries what the record page shows — waiting, made, or failed and why — while the job
    behind it carries the retries; `version_number` is the derived version once it exists.
    """

    __tablename__ = "renditions"
    __table_args__ = (
        UniqueConstraint("record_id", "source_version", "target"),
        Index("ix_renditions_record", "record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    source_version: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(16), default=RenditionTarget.pdf.value)
    state: Mapped[str] = mapped_column(String(16), default=RenditionState.queued.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # Vietnamese, for the record page
    version_number: Mapped[int | None] = mapped_column(Integer)
    tool: Mapped[str | None] = mapped_column(String(200))  # e.g. "LibreOffice 7.4.7.2", for PREMIS
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditHead(Base):
    """The single row that serialises audit appends and remembers the chain's last hash."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_record", "record_id"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    school_id: Mapped[int | None] = mapped_column(Integer)
    record_id: Mapped[str | None] = mapped_column(String(36))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_run_after", "state", "run_after"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=JobState.queued.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    last_error: Mapped[str | None] = mapped_column(Text)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InspectorGrant(Base):
    """An inspection decision's read access: schools, record types, school years, until it expires.

    Inspectors (thanh tra Phòng/Sở GDĐT) hold no school role; what they may read comes only from
    grants, checked on every request, so an expired or revoked grant stops working at once.
    """

    __tablename__ = "inspector_grants"
    __table_args__ = (Index("ix_grants_inspector", "inspector_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    decision_number: Mapped[str] = mapped_column(String(100))  # số quyết định thanh tra, e.g. 125/QĐ-PGDĐT
    decision_date: Mapped[date | None] = mapped_column(Date)
    record_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every type
    school_years: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))  # granted by a Sở's or Phòng's head

    inspector: Mapped[Person] = relationship(foreign_keys=[inspector_id], lazy="joined")
    granted_by: Mapped[Person] = relationship(foreign_keys=[granted_by_id], lazy="joined")
    schools: Mapped[list[School]] = relationship(secondary="grant_schools", lazy="selectin")
    unit: Mapped[OrgUnit | None] = relationship(lazy="joined")

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class GrantSchool(Base):
    __tablename__ = "grant_schools"

    grant_id: Mapped[int] = mapped_column(ForeignKey("inspector_grants.id"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)


class UploadSession(Base):
    """A resumable upload (tus 1.0 semantics): a recording arrives in chunks over weak school internet.

    The offset is what the spool file holds *durably*: it is moved only after the chunk is fsynced,
    so a crash leaves at most an unacknowledged tail, cut off when the client resumes.
    """

    __tablename__ = "upload_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)  # the RecordCreate it will become
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), default=UploadState.open.value)
    record_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """A client's `Idempotency-Key` on POST /records, written with the record it made.

    A teacher on weak school internet whose answer was lost sends the same upload again; the key
    returns the first record instead of a duplicate. Keys are per person (two teachers may pick
    the same string) and kept with the record: a few bytes each.
    """

    __tablename__ = "idempotency_keys"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lease(Base):
    """A named piece of periodic work (the retention sweep, a fixity run) and who holds it now
    (archive/leases.py): one row per name, shared by every worker process on every machine."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# the sign-in tables, a recording's ffprobe facts and what a scan's check found, registered with the others
from archive import login_models, media_models, scan_models  # noqa: E402, F401

# the dossier tables, beside the kernel's others (a module of their own for its length)
from archive.dossier_models import (  # noqa: E402, F401
    Dossier,
    DossierGrouping,
    DossierHandover,
    DossierList,
    DossierListState,
    DossierState,
    HandoverPackage,
)
from archive.unit_models import OrgUnit, UnitKind, UnitMembership, UnitRole  # noqa: E402, F401
