"""SQL tables of retention: each record's computed retention, legal holds, fixity runs."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.db import Base, UTCDateTime, utcnow
from archive.models import Person


class RetentionState(enum.StrEnum):
    """Where a record stands in its retention (`record_retention.state`)."""

    active = "active"  # within its term, or permanent and not yet transferred
    review = "review"  # past its term and not held: "Xem xét hủy"
    proposed = "proposed"  # on a destruction list
    destroyed = "destroyed"  # its blobs deleted by an executed decision; a tombstone remains
    transferred = "transferred"  # handed over in a transfer package (nộp lưu)


class DispositionState(enum.StrEnum):
    """The steps of one destruction procedure (TT 06/2025/TT-BNV)."""

    proposed = "proposed"  # the list written, waiting for the council
    reviewed = "reviewed"  # the council agreed, waiting for the principal
    decided = "decided"  # the principal decided to destroy, waiting for execution
    executed = "executed"
    rejected = "rejected"  # the council or the principal said no: the records are back in review
    lapsed = "lapsed"  # not executed within EXECUTION_DAYS: to be decided again


class CouncilOpinion(enum.StrEnum):
    agree = "agree"
    disagree = "disagree"


class FixityState(enum.StrEnum):
    running = "running"
    ok = "ok"  # every blob and the audit chain hold (orphans are garbage, not damage)
    problems = "problems"  # a mismatch, a missing blob, tampering or a broken audit chain
    failed = "failed"  # the run itself failed (`error`)
    interrupted = "interrupted"  # cut off by a shutdown; its job is queued again


class HoldKind(enum.StrEnum):
    records = "records"  # a list of records
    dossier = "dossier"  # one dossier
    filter = "filter"  # a school, optionally one school year and one record type (covers later records)


class RecordRetention(Base):
    """How long a record must be kept, from what it was computed, and whether its blobs are locked.

    `keep_until_year` is the last year the record must be kept (Luật Lưu trữ 2024 Điều 15: the term
    counts from the year the work ended, here the school year's second year); it becomes eligible
    for review on 1 January of the next year. It is never shortened once the blobs are locked.
    """

    __tablename__ = "record_retention"
    __table_args__ = (Index("ix_retention_state_year", "state", "keep_until_year"),)
    REINDEXES_RECORD_ON = ("state",)  # the search index's `retention` facet (archive/index_queue.py)

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    keep_until_year: Mapped[int | None] = mapped_column(Integer)  # None when permanent
    # the inputs it was computed from: a change of any of them recomputes it
    record_type_id: Mapped[int] = mapped_column(ForeignKey("record_types.id"))
    school_year: Mapped[str] = mapped_column(String(9))
    years_applied: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=RetentionState.active.value)
    locked_until: Mapped[date | None] = mapped_column(Date)  # the storage lock applied to its blobs
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    review_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Hold(Base):
    """A legal hold (tạm giữ): records, a dossier, or a filter (school + year + type) frozen until released."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # a HoldKind
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))  # e.g. the inspection decision number
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    school_year: Mapped[str | None] = mapped_column(String(9))
    record_type_id: Mapped[int | None] = mapped_column(ForeignKey("record_types.id"))
    dossier_id: Mapped[str | None] = mapped_column(ForeignKey("dossiers.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    release_reason: Mapped[str | None] = mapped_column(Text)

    created_by: Mapped[Person] = relationship(foreign_keys=[created_by_id], lazy="joined")


class HoldRecord(Base):
    __tablename__ = "hold_records"

    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)


class FixityRun(Base):
    """One pass over every blob: re-hashed, compared with what was recorded; plus the audit chain."""

    __tablename__ = "fixity_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default=FixityState.running.value)
    blobs_checked: Mapped[int] = mapped_column(Integer, default=0)
    bytes_checked: Mapped[int] = mapped_column(BigInteger, default=0)
    mismatched: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    audit_events_checked: Mapped[int] = mapped_column(Integer, default=0)
    audit_problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    # other versions or delete markers under a blob key (hoso writes a blob key once): tampering
    tampered: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # objects in the store that no row references: blobs, signed files, unsealed unreferenced sidecars
    orphans: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    orphans_found: Mapped[int] = mapped_column(Integer, default=0)
    anchor_key: Mapped[str | None] = mapped_column(String(400))  # the audit head written to the store
    started_by: Mapped[str] = mapped_column(String(100), default="system")
    error: Mapped[str | None] = mapped_column(Text)


class Disposition(Base):
    """One destruction procedure (TT 06/2025/TT-BNV): proposal → council → decision → execution.

    Its documents (the list, the council's minutes, the decision, the biên bản hủy) are records of a
    permanent destruction dossier, each step an audit event. A decision must be executed within
    `EXECUTION_DAYS`; after that it has lapsed and must be decided again.
    """

    __tablename__ = "dispositions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossiers.id"))
    state: Mapped[str] = mapped_column(String(16), default=DispositionState.proposed.value)
    explanation: Mapped[str] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    council: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # members, establishment decision, minutes, opinion
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_number: Mapped[str | None] = mapped_column(String(100))
    approved: Mapped[bool | None] = mapped_column(Boolean)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    executed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    documents: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # step → record id


class DispositionItem(Base):
    __tablename__ = "disposition_items"

    disposition_id: Mapped[int] = mapped_column(ForeignKey("dispositions.id"), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    explanation: Mapped[str] = mapped_column(Text, default="")
    # what remains of the record once destroyed: its metadata and every version's hash
    tombstone: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Transfer(Base):
    """A transfer package (nộp lưu): one school year's permanent records, as a sealed E-ARK SIP."""

    __tablename__ = "transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    school_year: Mapped[str] = mapped_column(String(9))
    record_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    store_key: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
