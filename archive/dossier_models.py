"""The dossier tables of the kernel: a hồ sơ, the school's yearly list of them, a handover batch.

Kept apart from `archive/models.py` for its length; `archive.models` imports every name here, and
what the tables go through (the list, filing, closing, handing over) is retention's
(`retention/dossiers/`). Relationships name their classes as strings: this module is imported by
`archive.models` at its end, so it cannot import it back at import time.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from archive.models import Person, RecordType


class DossierState(enum.StrEnum):
    """Where a hồ sơ stands in its year (retention/dossiers/)."""

    planned = "planned"  # on a yearly list not approved yet: nothing is filed into it
    open = "open"  # on the approved list: uploads file themselves into it
    closed = "closed"  # its work ended; its TT 05 metadata completed, its documents numbered
    handed_over = "handed_over"  # handed to the school's archive (nộp lưu vào lưu trữ cơ quan)


class DossierGrouping(enum.StrEnum):
    """What a record type's yearly dossiers are split by (one dossier per subject, grade, …)."""

    subject = "subject"
    grade = "grade"
    teacher = "teacher"
    month = "month"


class Dossier(Base):
    """A hồ sơ: the unit of filing whose retention is the longest of its documents (TT 05/2025).

    Yearly dossiers come from the school's list (danh mục hồ sơ, `list_id`) and carry the values
    they group records by (`subject`, `grade`, `teacher_id`, `month`; NULL: any). Their term is the
    list's (`retention_*`, the type's by default) raised to the longest of their documents
    (`keep_*`, never shortened). `tt05` holds the 18 dossier fields, completed at closing.
    """

    __tablename__ = "dossiers"
    __table_args__ = (
        UniqueConstraint("school_id", "file_code"),
        CheckConstraint(
            "retention_permanent OR retention_years IS NULL OR retention_years BETWEEN 2 AND 70",
            name="dossier_retention_valid",
        ),
        Index("ix_dossiers_list", "list_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    record_type_id: Mapped[int | None] = mapped_column(ForeignKey("record_types.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # the keeper (người lập hồ sơ)
    file_code: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    school_year: Mapped[str] = mapped_column(String(9))
    maintenance: Mapped[str | None] = mapped_column(String(50))
    mode: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(20), default="vi")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_lists.id"))
    state: Mapped[str] = mapped_column(String(16), default=DossierState.open.value)
    heading: Mapped[str | None] = mapped_column(String(20))
    number: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(String(100))
    grade: Mapped[int | None] = mapped_column(Integer)
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    month: Mapped[int | None] = mapped_column(Integer)
    retention_permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_years: Mapped[int | None] = mapped_column(Integer)
    keep_permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    keep_until_year: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    handover_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_handovers.id"))
    tt05: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    owner: Mapped[Person | None] = relationship("Person", foreign_keys=[owner_id], lazy="joined")
    record_type: Mapped[RecordType | None] = relationship("RecordType", lazy="joined")


class DossierListState(enum.StrEnum):
    draft = "draft"  # generated, being edited by the clerk or archivist
    approved = "approved"  # approved by the principal: its signed PDF is a record; its dossiers are open


class DossierList(Base):
    """A school's yearly list of dossiers (danh mục hồ sơ), one per school and school year."""

    __tablename__ = "dossier_lists"
    __table_args__ = (UniqueConstraint("school_id", "school_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    school_year: Mapped[str] = mapped_column(String(9))
    state: Mapped[str] = mapped_column(String(16), default=DossierListState.draft.value)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the signed PDF of the approved list, a record (no foreign key: records → dossiers → lists would
    # be a cycle, and a restore inserts tables in foreign-key order)
    record_id: Mapped[str | None] = mapped_column(String(36))


class DossierHandover(Base):
    """A batch of closed dossiers handed to the school's archive, with its signed list (mục lục hồ sơ
    nộp lưu and biên bản giao nhận, one signed PDF: `record_id`)."""

    __tablename__ = "dossier_handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    dossier_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    record_id: Mapped[str | None] = mapped_column(String(36))  # the signed list, a record (no FK: see DossierList)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HandoverPackage(Base):
    """Each dossier of a handover as the SIP the school's archive receives (TT 05/2025 form): built
    by a job queued with the handover (flows/dossier_package/handover_sips.py), kept in the store, its
    hash in the audit chain. Destroyed with the dossier's documents (retention/disposition/execute.py):
    it holds their bytes."""

    __tablename__ = "handover_packages"

    handover_id: Mapped[int] = mapped_column(ForeignKey("dossier_handovers.id"), primary_key=True)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossiers.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | ready | failed | destroyed
    objid: Mapped[str | None] = mapped_column(String(200))
    store_key: Mapped[str | None] = mapped_column(String(400))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
