"""SQL tables of search and evidence: the evidence packages people asked for (the index lives outside SQL)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.db import Base, UTCDateTime, utcnow
from archive.models import Person, new_uuid


class ExportState(enum.StrEnum):
    queued = "queued"
    building = "building"
    ready = "ready"
    failed = "failed"


class EvidenceExport(Base):
    """One evidence package: asked for (queued), built by a job (building), then ready or failed."""

    __tablename__ = "evidence_exports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default=ExportState.queued.value)
    record_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    query: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    grant_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # an inspector's grants at request time
    decision_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    estimated_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    store_key: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    files: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[Person] = relationship(lazy="joined")
