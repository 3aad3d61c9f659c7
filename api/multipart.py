"""Read a multipart/form-data upload straight from the socket into a Spool.

Starlette's form parser would first copy the whole file into its own temp file, and only then
could we hash, sniff, limit and store it: twice the disk writes, and a size limit that bites only
after the whole body has arrived. Here python-multipart's push parser is fed the raw request
chunks; the `metadata` field is handed to a check as soon as it is complete (so a bad school or
record type is refused before a 2 GB video is read), and the `file` part goes to a Spool, which
enforces the limit as bytes arrive. An endpoint that takes several files (the pages of one paper
document photographed by a phone, `archive.photo_set`) says how many; each gets its own spool and
the limit holds for them all together.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from archive.exceptions import IncompleteUpload, InvalidInput, UploadTooLarge
from archive.spool import Spool, too_large

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 64 * 1024
MULTIPART_OVERHEAD = 1024 * 1024


def _incomplete() -> IncompleteUpload:
    return IncompleteUpload(
        "Tải lên bị gián đoạn trước khi hoàn tất; không có gì được lưu. Hãy tải lại.",
        "The upload was cut off before it completed; nothing was stored. Please upload again.",
    )


_HTML5_ESCAPE = re.compile(r"%(22|[01][0-9A-Fa-f])")


def _html5_unescape(name: str) -> str:
    """Undo the HTML5 form encoding of a filename (browsers send `"` and control characters as %XX),
    so that a control character is seen, and refused, rather than stored as text."""
    return _HTML5_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    spool: Spool | None = None  # the first file's
    filename: str | None = None
    files: list[tuple[str, Spool]] = field(default_factory=list)  # every file, in the order sent

    def discard(self) -> None:
        for _, spool in self.files:
            spool.discard()
        if self.spool is not None:
            self.spool.discard()


class _Parts:
    """python-multipart's callbacks: headers collected per part, a field's bytes buffered (bounded),
    the one file's bytes written to the spool as they arrive."""

    def __init__(self, upload: Upload, probe: Spool, spool_factory: Callable[[], Spool], max_files: int) -> None:
        self.upload, self.probe = upload, probe
        self.spool_factory, self.max_files = spool_factory, max_files
        self.spool: Spool | None = None  # the file being received
        self.total = 0  # bytes of every file so far, held to the probe's limit together
        self.headers: dict[bytes, bytes] = {}
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.name: str | None = None
        self.buffer: bytearray | None = None
        self.ended = False
        self.completed_field: str | None = None

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, disp = parse_options_header(self.headers.get(b"content-disposition", b"").decode("latin-1"))
        self.name = disp.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disp:
            filename = _html5_unescape(disp[b"filename"].decode("utf-8", "replace"))
            if self.upload.spool is None:
                self.upload.filename, self.upload.spool = filename, self.probe
                self.spool = self.probe
            elif len(self.upload.files) >= self.max_files:
                if self.max_files == 1:
                    raise InvalidInput("Chỉ gửi một tệp mỗi lần.", "Send one file per request.")
                raise InvalidInput(
                    f"Gửi tối đa {self.max_files} tệp mỗi lần.", f"Send at most {self.max_files} files per request."
                )
            else:
                self.spool = self.spool_factory()
            self.upload.files.append((filename, self.spool))
            self.buffer = None
        else:
            self.buffer = bytearray()
        self.headers = {}

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.buffer is None:
            assert self.spool is not None
            self.total += end - start
            if self.total > self.probe.limit:
                raise too_large(self.probe.limit)
            self.spool.write(data[start:end])
        else:
            self.buffer += data[start:end]
            if len(self.buffer) > MAX_FIELD_BYTES:
                raise InvalidInput(f"Trường {self.name!r} quá dài.", f"Field {self.name!r} is too long.")

    def on_part_end(self) -> None:
        if self.buffer is not None and self.name:
            try:
                self.upload.fields[self.name] = self.buffer.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(
                    f"Trường {self.name!r} không phải UTF-8.", f"Field {self.name!r} is not UTF-8."
                ) from None
            self.completed_field = self.name
        self.buffer = None

    def on_end(self) -> None:
        self.ended = True


async def read_upload(
    request: Request,
    *,
    spool_factory: Callable[[], Spool],
    on_field: Callable[[str, str], Awaitable[None]] | None = None,
    max_files: int = 1,
) -> Upload:
    """Parse the request body; the caller owns (and must discard) the returned spools."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInput(
            "Yêu cầu phải là multipart/form-data gồm trường 'metadata' (JSON) và trường 'file'.",
            "The request must be multipart/form-data with a 'metadata' (JSON) field and a 'file' field.",
        )
    upload = Upload()
    probe = spool_factory()  # also tells us the limit, and is the file's spool if one arrives
    limit = probe.limit
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        probe.discard()
        raise UploadTooLarge(
            f"Tệp vượt quá giới hạn {limit / 1048576:,.0f} MB.",
            f"The file exceeds the {limit / 1048576:,.0f} MB limit.",
        )
    parts = _Parts(upload, probe, spool_factory, max_files)
    parser = MultipartParser(params[b"boundary"], callbacks=parts.callbacks())
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
            if parts.completed_field is not None:
                name, parts.completed_field = parts.completed_field, None
                if on_field is not None:
                    await on_field(name, upload.fields[name])
        parser.finalize()
        if not parts.ended:
            raise _incomplete()
    except ClientDisconnect:
        upload.discard()
        probe.discard()
        raise _incomplete() from None
    except MultipartParseError as exc:
        upload.discard()
        probe.discard()
        raise InvalidInput(f"Nội dung multipart bị hỏng: {exc}", f"The multipart body is malformed: {exc}") from None
    except BaseException:
        upload.discard()
        probe.discard()
        raise
    if upload.spool is None:
        probe.discard()
    return upload
