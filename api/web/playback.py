"""What the record page's player plays: the light streaming copy by default, the original on request.

An inspector on school internet cannot stream a 2 GB phone recording (10–20 Mbit/s for 1080p; a
school's line is a few Mbit/s shared by the building), so the player starts on the ~470 kbps
streaming rendition and names the original one click away ("Xem bản gốc"). Until the copy is made,
or if it failed, the original plays. Both are served by the versions' download route with `Range`
(seeking, resuming); the poster is the player's still before it starts. The facts ffprobe read
from the original, and what falls short of TT 05/2025, are shown above it in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import media_facts, renditions
from archive.media_models import MediaFacts
from archive.models import Record, Rendition, RenditionState, RenditionTarget, Version


@dataclass
class Playback:
    source: int  # the original recording's version number
    stream: int | None  # its streaming copy's, once made
    poster: int | None
    original: bool  # the original is what plays (asked for, or no copy yet)
    facts: MediaFacts | None
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (Vietnamese, English)

    @property
    def playing(self) -> int:
        return self.source if self.original or self.stream is None else self.stream


def for_record(session: Session, record: Record, versions: list[Version], want_original: bool) -> Playback | None:
    """The player's sources for the record's latest recording; None when it holds no recording."""
    number = renditions.latest_source(session, record)
    source = next((v for v in versions if v.number == number), None)
    if source is None or source.media_type not in media_facts.VIDEO:
        return None
    made = {
        r.target: r.version_number
        for r in session.scalars(
            select(Rendition).where(
                Rendition.record_id == record.id,
                Rendition.source_version == number,
                Rendition.state == RenditionState.done,
            )
        )
    }
    stream = made.get(RenditionTarget.stream.value)
    facts = session.get(MediaFacts, (record.id, number))
    probe = _probe(facts) if facts is not None else None
    return Playback(
        source=number,
        stream=stream,
        poster=made.get(RenditionTarget.poster.value),
        original=want_original or stream is None,
        facts=facts,
        warnings=media_facts.warnings(probe, source.media_type) if probe is not None else [],
    )


def _probe(facts: MediaFacts) -> media_facts.Probe:
    return media_facts.Probe(
        container=facts.container,
        video_codec=facts.video_codec,
        audio_codec=facts.audio_codec,
        bitrate_kbps=facts.bitrate_kbps,
        duration_seconds=facts.duration_seconds,
        width=facts.width,
        height=facts.height,
    )


def clock(seconds: float | None) -> str:
    """ "2:05" or "1:02:05" — how long the recording plays, in any language."""
    if seconds is None:
        return ""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
