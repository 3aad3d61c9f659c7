"""The notification tables: one row per person and subject, the person's e-mail choices, and how
far the audit log has been followed."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from archive.db import Base, UTCDateTime, utcnow


class NotificationKind(enum.StrEnum):
    plan_returned = "plan_returned"  # to the author: the principal sent the plan back, with a comment
    plans_waiting = "plans_waiting"  # to the school's signers: N plans of a period wait for a decision
    plans_signed = "plans_signed"  # to the author: their plans of a batch were signed
    evidence_ready = "evidence_ready"  # to the requester: an evidence package can be downloaded
    copy_waiting = "copy_waiting"  # to the school's clerks and principal: an authenticated copy to issue
    copy_decided = "copy_decided"  # to the requester: their authenticated copy was issued, or refused


class Notification(Base):
    """One subject told to one person. A subject that changes (the count of plans waiting) updates its
    row instead of adding one, so a principal sees "39 kế hoạch chờ duyệt", not 39 lines."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("person_id", "kind", "key"),
        Index("ix_notifications_person_updated", "person_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))  # the subject: a record, a school's period, a batch
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the text names (texts.py)
    link: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationChoice(Base):
    """Whether a person wants a kind by e-mail too (the app always shows it). No row: the default."""

    __tablename__ = "notification_choices"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean)


class NotificationCursor(Base):
    """The last audit event turned into notifications (one row): the follower resumes from it."""

    __tablename__ = "notification_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
