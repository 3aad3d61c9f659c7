"""The copy requests table: who asked for which copy of which record, why, and what was handed out."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.db import Base, UTCDateTime, utcnow
from archive.models import Person, Record, School, new_uuid


class CopyKind(enum.StrEnum):
    """The three uses of TT 05/2025: reading in the viewer, a plain copy, an authenticated copy."""

    read = "read"  # bản đọc: page images in the browser only, the school's name on every page, an end date
    copy = "copy"  # bản sao: a PDF stamped "BẢN SAO" on every page, downloadable
    authenticated = "authenticated"  # bản sao có xác thực: the BẢN SAO PDF + an authentication page, sealed


class CopyState(enum.StrEnum):
    requested = "requested"  # waiting for the clerk or principal (authenticated copies only)
    issued = "issued"
    refused = "refused"  # the clerk or principal said no, with a reason
    voided = "voided"  # its record was destroyed (TT 06/2025): the copy's file went with it


class CopyRequest(Base):
    """One request and, once issued, the copy it produced (a new object; the original is untouched)."""

    __tablename__ = "copy_requests"
    __table_args__ = (UniqueConstraint("school_id", "number_year", "number_seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=CopyState.requested.value)
    purpose: Mapped[str] = mapped_column(Text)
    read_until: Mapped[date | None] = mapped_column(Date)  # a read copy's last day (Vietnam time)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("inspector_grants.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refuse_reason: Mapped[str | None] = mapped_column(Text)
    version_number: Mapped[int | None] = mapped_column(Integer)  # the source version copied
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    number_year: Mapped[int | None] = mapped_column(Integer)  # copies are numbered per school and year
    number_seq: Mapped[int | None] = mapped_column(Integer)
    store_key: Mapped[str | None] = mapped_column(String(400))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    seal_subject: Mapped[str | None] = mapped_column(String(600))  # who authenticated: the seal certificate

    school: Mapped[School] = relationship(lazy="joined")
    record: Mapped[Record] = relationship(lazy="joined")
    requested_by: Mapped[Person] = relationship(foreign_keys=[requested_by_id], lazy="joined")
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")

    @property
    def number(self) -> str:
        """The copy's number as printed on it ("12/2026/BS"), empty for a read copy."""
        if self.number_seq is None:
            return ""
        return f"{self.number_seq:02d}/{self.number_year}/BS"
