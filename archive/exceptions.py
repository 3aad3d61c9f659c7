"""Domain errors of the kernel, each with a Vietnamese and an English message for people.

`api/` maps each class to an HTTP status; the CLI prints the messages and exits non-zero. The
`code` is stable so scripts and the web UI can react to a specific error.
"""

from __future__ import annotations


class HosoError(Exception):
    """Base of every error a person may see; never used for programming errors."""

    code = "error"

    def __init__(self, vi: str, en: str, **context: object) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en
        self.context = context


class InvalidInput(HosoError):
    code = "invalid_input"


class NotFound(HosoError):
    code = "not_found"


class Conflict(HosoError):
    code = "conflict"


class Forbidden(HosoError):
    code = "forbidden"


class Unauthorized(HosoError):
    code = "unauthorized"


class UploadTooLarge(HosoError):
    code = "upload_too_large"


class UnsupportedMediaType(HosoError):
    code = "unsupported_media_type"


class IncompleteUpload(HosoError):
    code = "incomplete_upload"


class IntegrityFailure(HosoError):
    """Stored bytes do not match what was recorded: never expected, always investigated."""

    code = "integrity_failure"


class FontMissing(HosoError):
    """No installed font covers Vietnamese, so no document can be drawn: an installation fault."""

    code = "font_missing"


class ToolMissing(HosoError):
    """A program hoso runs (img2pdf, ffprobe) is not installed: an installation fault (`make run`)."""

    code = "tool_missing"


class Gone(HosoError):
    """The record was lawfully destroyed: its metadata remains, its bytes do not."""

    code = "gone"


class TooManyAttempts(HosoError):
    """Too many failed logins from this account or address: wait `retry_after` seconds (archive/throttle.py)."""

    code = "too_many_attempts"

    def __init__(self, vi: str, en: str, retry_after: int) -> None:
        super().__init__(vi, en, retry_after=retry_after)
        self.retry_after = retry_after
