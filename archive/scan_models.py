"""What `archive.scan_quality` found in a scan or photo, one row per original version of paper.

A module apart from archive/models.py for that file's length; archive.models imports it, so the
table registers with the others. Keyed by (record, version number) so the row is written in the
version's own transaction. `warnings` keeps what was said to the uploader ((vi, en) pairs, against
the record type's threshold at upload time) so the record page says the same thing later, even if
the archivist changes the threshold; `pages_done` is the OCR job's progress for the record page.
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from archive.db import Base


class ScanFacts(Base):
    __tablename__ = "scan_facts"

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    version_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    pages: Mapped[int] = mapped_column(Integer)
    dpi: Mapped[int | None] = mapped_column(Integer)
    colour_bits: Mapped[int | None] = mapped_column(Integer)
    warnings: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
