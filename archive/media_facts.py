"""What a recording is, by ffprobe, and whether it meets TT 05/2025: read once at ingest, kept with its version.

An inspector asks of a lesson recording what the archive law asks (TT 05/2025/TT-BNV Điều 8: video
as MPEG-4 or AVI of at least 1500 kbps), and a reader on school internet needs to know whether the
original will play at all; both are answered by the facts ffprobe reads from the container's index
(container, codecs, bitrate, duration, frame size). ffprobe reads only the index, so probing a
2 GB phone recording is as quick as a 2 MB one (tens of milliseconds), and it runs inline on the
spooled upload before the blob is put: a file with no picture (an audio track saved as .mp4) or
one ffprobe cannot read (a cut-off copy whose index never arrived) is refused with its reason and
nothing is stored. A recording below the law's bitrate is accepted with a warning on its record
page: the school may have nothing better, and refusing it would lose the lesson.

Without ffprobe installed nothing is probed or refused here; the streaming rendition then fails
with "not installed" and the original stays downloadable.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive import mediatype
from archive.exceptions import InvalidInput

VIDEO = frozenset({mediatype.MP4, mediatype.MOV, mediatype.WEBM})
PROBE_SECONDS = 60  # an index read; a probe past this is a file built to stall it


@dataclass(frozen=True)
class Rule:
    """One legal threshold, kept as data with its citation (DESIGN §5), for an archivist to confirm."""

    min_video_kbps: int
    containers: frozenset[str]  # media types the text names
    citation: str
    confirmed: bool


# TT 05/2025/TT-BNV Điều 8 (digitising): "video MPEG-4/AVI ≥ 1500 kbps" — from public summaries.
TT05 = Rule(
    min_video_kbps=1500,
    containers=frozenset({mediatype.MP4, "video/x-msvideo"}),
    citation="Thông tư 05/2025",
    confirmed=False,
)

CONTAINER_NAMES = {mediatype.MP4: "MPEG-4", mediatype.MOV: "QuickTime", mediatype.WEBM: "WebM"}


@dataclass(frozen=True)
class Probe:
    container: str  # "MPEG-4", "QuickTime", "WebM"
    video_codec: str | None  # ffprobe's codec name: "h264", "hevc", "vp9"
    audio_codec: str | None
    bitrate_kbps: int | None  # the whole file's, as TT 05 counts it
    duration_seconds: float | None
    width: int | None
    height: int | None


class Unreadable(Exception):
    """ffprobe could not read the file (its reason in the message)."""


def probe(path: Path, media_type: str) -> Probe | None:
    """The recording's facts; None when ffprobe is not installed. Raises Unreadable for a damaged file.

    An upload's spool is probed by its check and again when its version is identified: the second
    answer comes from a small cache keyed by the file's identity and size, never from a stale path
    (a spool is written once, then only read)."""
    tool = shutil.which("ffprobe")
    if tool is None:
        return None
    try:
        seen = path.stat()
    except OSError as e:
        raise Unreadable(str(e)) from e
    return _probe(tool, str(path), seen.st_ino, seen.st_size, seen.st_mtime_ns, media_type)


@functools.lru_cache(maxsize=8)
def _probe(tool: str, path: str, _inode: int, _size: int, _mtime_ns: int, media_type: str) -> Probe:
    try:
        done = subprocess.run(
            [tool, "-v", "error", "-show_format", "-show_streams", "-of", "json", path],
            capture_output=True,
            text=True,
            timeout=PROBE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise Unreadable("ffprobe timed out") from e
    try:
        facts: dict[str, Any] = json.loads(done.stdout or "{}")
    except ValueError as e:
        raise Unreadable(done.stderr.strip()[-300:]) from e
    if done.returncode != 0 or "format" not in facts:
        raise Unreadable(done.stderr.strip()[-300:] or "no container")
    return _facts(facts, media_type)


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _facts(facts: dict[str, Any], media_type: str) -> Probe:
    streams = facts.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = facts["format"]
    bitrate = _number(fmt.get("bit_rate"))
    return Probe(
        container=CONTAINER_NAMES.get(media_type, str(fmt.get("format_name", "?"))),
        video_codec=str(video["codec_name"]) if video else None,
        audio_codec=str(audio["codec_name"]) if audio else None,
        bitrate_kbps=round(bitrate / 1000) if bitrate else None,
        duration_seconds=_number(fmt.get("duration")),
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
    )


def _is_cover(stream: dict[str, Any]) -> bool:
    """An MP4 audio file's album art is a one-frame "video" stream: not a picture of a lesson."""
    return bool(stream.get("disposition", {}).get("attached_pic"))


def check(path: Path, media_type: str, name: str) -> Probe | None:
    """Refuse, before anything is stored, a recording that cannot be played or has no picture."""
    try:
        facts = probe(path, media_type)
    except Unreadable as e:
        raise InvalidInput(
            f"Không đọc được video {name!r}: tệp bị hỏng hoặc chưa tải lên hết. "
            "Hãy kiểm tra tệp trên máy rồi tải lên lại.",
            f"The video {name!r} cannot be read: the file is damaged or incomplete. Check it and upload it again.",
            field="file",
            reason=str(e),
        ) from None
    if facts is not None and facts.video_codec is None:
        raise InvalidInput(
            f"Tệp {name!r} không có hình (chỉ có tiếng hoặc trống); video tiết dạy cần có hình. "
            "Hãy chọn đúng tệp video đã quay.",
            f"The file {name!r} has no picture (sound only, or empty); a lesson recording needs one. "
            "Choose the recorded video file.",
            field="file",
        )
    return facts


def warnings(facts: Probe, media_type: str, rule: Rule = TT05) -> list[tuple[str, str]]:
    """What falls short of the law, in plain words (Vietnamese, English), for the record page."""
    said: list[tuple[str, str]] = []
    if media_type not in rule.containers:
        said.append(
            (
                f"định dạng {facts.container}, không phải MPEG-4 theo {rule.citation}",
                f"{facts.container} container, not the MPEG-4 that {rule.citation} asks for",
            )
        )
    if facts.bitrate_kbps is not None and facts.bitrate_kbps < rule.min_video_kbps:
        said.append(
            (
                f"video {facts.bitrate_kbps} kbps, dưới mức {rule.min_video_kbps} kbps của {rule.citation}",
                f"video {facts.bitrate_kbps} kbps, below the {rule.min_video_kbps} kbps of {rule.citation}",
            )
        )
    return said
