"""The facts ffprobe read from a recording (archive/media_facts.py), one row per video version.

A module apart from archive/models.py for that file's length; archive.models imports it, so the
table registers with the others. Keyed by (record, version number) so the row is written in the
version's own transaction without waiting for the version's id.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive.db import Base


class MediaFacts(Base):
    __tablename__ = "media_facts"

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    version_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    container: Mapped[str] = mapped_column(String(40))
    video_codec: Mapped[str | None] = mapped_column(String(40))
    audio_codec: Mapped[str | None] = mapped_column(String(40))
    bitrate_kbps: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
