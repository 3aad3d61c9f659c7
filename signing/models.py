"""Signing tables (DESIGN §3): approval batches, their items, and the signatures hoso made.

A batch is the principal's queue for one school and one period ("2026-11"). Its items carry their
own decision and signing state, so a batch job that dies half-way resumes where it stopped and
never signs an item twice: an item is marked signed in the same transaction that adds its signed
version.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from archive.db import Base, UTCDateTime, utcnow
from archive.models import Person, Record, School, new_uuid


class BatchState(enum.StrEnum):
    open = "open"  # accepting submissions and decisions
    signing = "signing"  # a signing run holds the lease
    signed = "signed"  # every approved item handled, the approval record signed


class Decision(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    returned = "returned"


class SignState(enum.StrEnum):
    unsigned = "unsigned"
    signed = "signed"
    failed = "failed"  # this item's file could not be signed (reason in `error`); the others go on


class StampPlace(enum.StrEnum):
    """Where an item's signature shows, so the principal is told (a stamp never covers content)."""

    last_page = "last_page"  # blank room on the last page (the default)
    first_page = "first_page"  # blank room on the first page (HOSO_STAMP_PAGE=first, or the fallback)
    added_page = "added_page"  # no blank room anywhere: a signature page added at the end
    invisible = "invisible"  # no room and no page may be added (it would break an earlier signature)
    detached = "detached"  # not a PDF: a .p7s beside the file, nothing drawn


class SignatureKind(enum.StrEnum):
    pades = "pades"  # embedded in the PDF (ETSI.CAdES.detached)
    cades_detached = "cades_detached"  # a .p7s beside the version


class ApprovalBatch(Base):
    __tablename__ = "approval_batches"
    __table_args__ = (UniqueConstraint("school_id", "period", "round"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    period: Mapped[str] = mapped_column(String(16))
    # A batch that was signed is closed; later submissions for the period open the next round.
    round: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default=BatchState.open.value)
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    signer_title: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str | None] = mapped_column(String(16))
    key_source: Mapped[str | None] = mapped_column(String(16))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_record_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    school: Mapped[School] = relationship(lazy="joined")
    signer: Mapped[Person | None] = relationship(lazy="joined")


class ApprovalItem(Base):
    __tablename__ = "approval_items"
    __table_args__ = (Index("ix_approval_items_batch", "batch_id"), Index("ix_approval_items_record", "record_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("approval_batches.id"))
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    version_number: Mapped[int] = mapped_column(Integer)  # the version submitted and decided on
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)  # the teacher's note on submission
    decision: Mapped[str] = mapped_column(String(16), default=Decision.pending.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    sign_state: Mapped[str] = mapped_column(String(16), default=SignState.unsigned.value)
    signed_version: Mapped[int | None] = mapped_column(Integer)
    stamp_place: Mapped[str | None] = mapped_column(String(16))  # StampPlace, once signed
    error: Mapped[str | None] = mapped_column(Text)

    record: Mapped[Record] = relationship(lazy="joined")
    submitted_by: Mapped[Person] = relationship(foreign_keys=[submitted_by_id], lazy="joined")
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")


class Signature(Base):
    """One signature hoso made, with the facts an inspector asks for first (the full report is computed)."""

    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signatures_record", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    version_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    detached_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("approval_batches.id"))
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    signer_subject: Mapped[str] = mapped_column(String(500))
    signer_serial: Mapped[str] = mapped_column(String(80))
    signer_issuer: Mapped[str] = mapped_column(String(500))
    level: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PreparedSignature(Base):
    """A document prepared for a signature made on the principal's PC (client-side key), until it expires.

    The server keeps the document in its final pre-signing state (object store, `work/prepared/`)
    and what the key must sign: the DER signed attributes and their SHA-256. A signature coming
    back is checked against this row's certificate before anything is stored. One live
    preparation per target ("item:<id>" or "record:<batch id>" for the approval record).
    """

    __tablename__ = "prepared_signatures"
    __table_args__ = (UniqueConstraint("target", name="uq_prepared_target"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    batch_id: Mapped[str] = mapped_column(ForeignKey("approval_batches.id"))
    target: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("approval_items.id"))
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    kind: Mapped[str] = mapped_column(String(16))  # pades | cades_detached
    signer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    certificate: Mapped[bytes] = mapped_column(LargeBinary)  # DER, the signer's
    chain: Mapped[list[str]] = mapped_column(JSON, default=list)  # base64 DER of the CA certificates sent
    level: Mapped[str] = mapped_column(String(16))
    signed_attrs: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 (hex) of signed_attrs: what the key signs
    document_digest: Mapped[str | None] = mapped_column(String(64))
    reserved_start: Mapped[int | None] = mapped_column(Integer)
    reserved_end: Mapped[int | None] = mapped_column(Integer)
    work_key: Mapped[str | None] = mapped_column(String(200))  # the prepared PDF in the object store
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # stamp page and box
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def left_to_sign(batch_id: str) -> ColumnElement[bool]:
    """SQL: the items of a batch that are approved and not signed yet (what a signing run does next)."""
    return and_(
        ApprovalItem.batch_id == batch_id,
        ApprovalItem.decision == Decision.approved.value,
        ApprovalItem.sign_state == SignState.unsigned.value,
    )


class SigningCertificate(Base):
    """A signing certificate registered to one person: what lets hoso say the signer is who the stamp names.

    A certificate's stamp and approval record name its subject, so a principal signing with another
    person's certificate would sign in that person's name. A certificate is registered to one
    person, at its first use (the person confirms it is theirs) or by an administrator, and a
    signing run refuses one registered to somebody else or revoked. The fingerprint (SHA-256 of
    the DER) is unique for ever: a revoked certificate (a lost token) stays revoked.
    """

    __tablename__ = "signing_certificates"
    __table_args__ = (
        UniqueConstraint("fingerprint", name="uq_signing_certificates_fingerprint"),
        Index("ix_signing_certificates_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    fingerprint: Mapped[str] = mapped_column(String(95))  # SHA-256 of the DER: signing.keys.fingerprint
    subject: Mapped[str] = mapped_column(String(500))
    common_name: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str] = mapped_column(String(80))  # hex
    issuer: Mapped[str] = mapped_column(String(500))
    national_id: Mapped[str | None] = mapped_column(String(40))  # CMND/CCCD when the subject carries it
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)  # DER
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    how: Mapped[str] = mapped_column(String(16))  # RegisteredHow
    name_differs: Mapped[bool] = mapped_column(default=False)  # CN ≠ the person's full name, accepted explicitly
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    registered_by: Mapped[Person | None] = relationship(foreign_keys=[registered_by_id], lazy="joined")
    revoked_by: Mapped[Person | None] = relationship(foreign_keys=[revoked_by_id], lazy="joined")


class SchoolSeal(Base):
    """A seal certificate registered to a school: the only certificates that may seal its authenticated copies.

    An authenticated copy's first page says the school vouches for it with "chứng thư số của con
    dấu"; a valid, trusted certificate is not enough for that (a teacher's personal one, another
    unit's seal would pass). The first use is confirmed by the school's clerk or principal, later
    ones come from an administrator or the principal (signing/seal_ownership.py). A fingerprint is
    a seal of one school or a person's certificate (signing_certificates), never both.
    """

    __tablename__ = "school_seals"
    __table_args__ = (
        UniqueConstraint("fingerprint", name="uq_school_seals_fingerprint"),
        Index("ix_school_seals_school", "school_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    fingerprint: Mapped[str] = mapped_column(String(95))  # SHA-256 of the DER: signing.keys.fingerprint
    subject: Mapped[str] = mapped_column(String(500))
    serial: Mapped[str] = mapped_column(String(80))  # hex
    issuer: Mapped[str] = mapped_column(String(500))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)  # DER
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    how: Mapped[str] = mapped_column(String(16))  # ownership.RegisteredHow: first_use | admin

    school: Mapped[School] = relationship(lazy="joined")
    registered_by: Mapped[Person] = relationship(lazy="joined")
