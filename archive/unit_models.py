"""The education hierarchy's tables: a Sở GDĐT, the Phòng GDĐT under it, and who works at each.

A school sits under a Phòng (or directly under a Sở: upper-secondary schools report to the Sở).
People at a unit hold unit roles, never school roles: a unit's administrator creates its schools
and their first principal, its head grants inspection access over many schools, its inspectors
read only what such a grant covers (archive/grants.py), and all three read the unit's compliance
dashboard (counts, never record content: minors' data stays behind the school's own roles).
Kept apart from `archive/models.py` for its length; `archive.models` imports every name here.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from archive.models import Person


class UnitKind(enum.StrEnum):
    so = "so"  # Sở Giáo dục và Đào tạo (a province)
    phong = "phong"  # Phòng Giáo dục và Đào tạo (a district), under a Sở


class UnitRole(enum.StrEnum):
    admin = "admin"  # creates the unit's schools (and a Sở's Phòng) and each school's first principal
    head = "head"  # the unit's leader: grants its inspectors, reads the dashboard
    inspector = "inspector"  # reads what a grant from the head covers


class OrgUnit(Base):
    __tablename__ = "org_units"
    __table_args__ = (CheckConstraint("signing_deadline_day BETWEEN 1 AND 28", name="deadline_day_valid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    # the district (a Phòng) or province (a Sở) it serves: fills its schools' free-text columns
    area: Mapped[str | None] = mapped_column(String(200))
    # the district's rule (seeds 003 §6): a month's plans are signed by this day of the next month;
    # each unit sets its own, and the dashboard flags its schools' months unsigned after it
    signing_deadline_day: Mapped[int] = mapped_column(Integer, default=5)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side="OrgUnit.id", lazy="joined")


class UnitMembership(Base):
    """A person's role at a unit (its administrator, head or inspector)."""

    __tablename__ = "unit_memberships"
    __table_args__ = (UniqueConstraint("person_id", "unit_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="unit_memberships")
    unit: Mapped[OrgUnit] = relationship(lazy="joined")
