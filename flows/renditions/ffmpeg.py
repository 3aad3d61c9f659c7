"""The two ffmpeg commands a recording needs, and running one under a time limit it cannot outlive.

The streaming copy is for an inspector on school internet (a few Mbit/s shared by a building):
H.264 Main + AAC-LC in MP4 (every browser plays it without a plug-in), the short side scaled to at
most 480 px keeping the aspect (a phone's portrait video stays portrait; a smaller one is never
enlarged), at most 30 frames a second, 400 kbps video capped at 500 with a one-second buffer plus
64 kbps audio: ~470 kbps in all, a 45-minute lesson ~160 MB instead of 1–2 GB. `+faststart` puts
the index first so playback starts before the download ends; `-preset veryfast` because the job
shares the server's two cores with the web and the indexer, and at these bitrates a slower preset
buys little a viewer would see.

ffmpeg reads the verified copy of the original from a private temp folder (seekable: a phone's MP4
often has its index at the end, which a pipe cannot reach) and writes a temp file there; its own
process group is killed whole at the limit or when the worker stops, so no encoder outlives its job.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

SHORT_SIDE = 480
VIDEO_KBPS, VIDEO_MAX_KBPS, AUDIO_KBPS = 400, 500, 64
POSTER_WIDTH = 640
POSTER_AT = 0.10  # a frame at a tenth of the recording: past a title card or the teacher's first steps


class Missing(Exception):
    """ffmpeg is not installed."""


class TimedOut(Exception):
    """ffmpeg ran past its limit and was killed."""


class Stopped(Exception):
    """The worker is stopping; ffmpeg was killed and the job goes back to the queue."""


class Failed(Exception):
    """ffmpeg ended with an error (its last words in the message)."""


def _tool() -> str:
    tool = shutil.which("ffmpeg")
    if tool is None:
        raise Missing("ffmpeg is not installed")
    return tool


@functools.cache
def version() -> str:
    """ "FFmpeg 5.1.9", for the PREMIS event and the audit trail."""
    first = subprocess.run([_tool(), "-version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
    found = re.match(r"ffmpeg version n?(\d+(?:\.\d+)*)", first)
    return f"FFmpeg {found.group(1) if found else first.removeprefix('ffmpeg version ').split(' ')[0]}"


# the short side to at most SHORT_SIDE px, even (H.264 4:2:0 wants even sides), never enlarged
_SCALE = (
    f"scale=w='if(gt(iw,ih),-2,trunc(min({SHORT_SIDE},iw)/2)*2)':h='if(gt(iw,ih),trunc(min({SHORT_SIDE},ih)/2)*2,-2)'"
)


def stream_command(source: Path, out: Path) -> list[str]:
    """The streaming copy's command (the bench runs this same list by hand)."""
    return [
        _tool(),
        *("-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source)),
        *("-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-map_metadata", "-1"),
        *("-vf", _SCALE, "-fpsmax", "30", "-pix_fmt", "yuv420p"),
        *("-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main"),
        *("-b:v", f"{VIDEO_KBPS}k", "-maxrate", f"{VIDEO_MAX_KBPS}k", "-bufsize", f"{VIDEO_MAX_KBPS}k"),
        *("-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k"),
        *("-movflags", "+faststart", "-f", "mp4", str(out)),
    ]


def poster_command(source: Path, out: Path, duration: float | None) -> list[str]:
    at = max(0.0, (duration or 0.0) * POSTER_AT)
    return [
        _tool(),
        *("-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{at:.3f}", "-i", str(source)),
        *("-map", "0:v:0", "-frames:v", "1", "-vf", f"scale=w='min({POSTER_WIDTH},iw)':h=-2", "-q:v", "4"),
        *("-f", "image2", "-c:v", "mjpeg", str(out)),
    ]


def run(command: list[str], limit: float, stop: threading.Event, log_to: Path) -> None:
    """Run `command` in its own process group; raise TimedOut past `limit` s, Stopped on `stop`,
    Failed on a non-zero exit. stderr goes to a file (a pipe left unread would stall ffmpeg)."""
    deadline = time.monotonic() + limit
    with open(log_to, "wb") as err:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
        try:
            while process.poll() is None:
                if stop.is_set():
                    raise Stopped("the worker is stopping")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimedOut("ffmpeg ran past its time limit")
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=min(left, 0.5))
        finally:
            if process.poll() is None:
                _kill_group(process)
    if process.returncode != 0:
        raise Failed(log_to.read_text(errors="replace").strip()[-300:] or f"exit {process.returncode}")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
