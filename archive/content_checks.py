"""What an upload must be before a byte of it is stored: the type its record type accepts, a real file
of that type (a PDF that parses, an OOXML file that is no bomb, a recording with a picture), a scan
above TT 05's threshold (or refused by its record type's policy); and what it is, in a registry's
terms (its PRONOM format, a recording's ffprobe facts). `archive.ingest` runs these on the spool.
"""

from __future__ import annotations

from dataclasses import replace

from archive import formats, media_facts, mediatype, ooxmlcheck, pdfcheck, scan_quality
from archive.exceptions import InvalidInput, UnsupportedMediaType
from archive.models import RecordType
from archive.schemas import check_filename
from archive.spool import Received


def check_content(received: Received, record_type: RecordType, filename: str) -> str:
    """The cleaned file name, once the bytes are known to be non-empty and of an allowed type."""
    try:
        name = check_filename(filename)
    except ValueError as exc:
        raise InvalidInput(f"Tên tệp không hợp lệ: {exc}", f"Invalid file name: {exc}") from None
    if received.size == 0:
        raise InvalidInput("Tệp rỗng (0 byte).", "The file is empty (0 bytes).")
    if received.media_type == mediatype.UNKNOWN and ooxmlcheck.is_encrypted(received.path):
        raise InvalidInput(
            f"Tệp {name!r} được đặt mật khẩu nên không kiểm tra và không chuyển sang PDF được. Hãy mở tệp, bỏ "
            "mật khẩu (Tệp → Thông tin → Bảo vệ tài liệu → Mã hóa bằng mật khẩu, xóa mật khẩu), lưu rồi tải lên lại.",
            f"The file {name!r} is password-protected, so it can be neither checked nor converted to PDF. Open it, "
            "remove the password (File → Info → Protect Document → Encrypt with Password), save and upload it again.",
            field="file",
        )
    if received.media_type not in record_type.allowed_media_types:
        allowed = ", ".join(mediatype.describe(t) for t in record_type.allowed_media_types)
        found = (
            "không nhận dạng được"
            if received.media_type == mediatype.UNKNOWN
            else mediatype.describe(received.media_type)
        )
        found_en = "unrecognised" if received.media_type == mediatype.UNKNOWN else found
        raise UnsupportedMediaType(
            f"Nội dung tệp {name!r} là {found}; {record_type.name_vi} chỉ nhận: {allowed}.",
            f"The content of {name!r} is {found_en}; {record_type.name_en} accepts only: {allowed}.",
            media_type=received.media_type,
        )
    check_document(received, name)
    # TT 05/2025 Điều 8: a scan or photo below the record type's threshold is refused here, or warned of
    scan_quality.enforce(
        received.path, received.sha256, received.media_type, record_type.scan_policy, record_type.scan_min_dpi, name
    )
    return name


def check_document(received: Received, name: str) -> None:
    """A file of an accepted type must be a real one: a PDF that parses (no password, no script), a
    DOCX/XLSX that is no decompression bomb. Run before the blob is put, so a refusal stores nothing."""
    if received.media_type == mediatype.PDF:
        pdfcheck.check(received.path, name)
    elif received.media_type in (mediatype.DOCX, mediatype.XLSX):
        ooxmlcheck.check(received.path, name)
    elif received.media_type in media_facts.VIDEO:
        media_facts.check(received.path, received.media_type, name)


def identified(received: Received) -> Received:
    """`received` with its PRONOM format (`archive.formats`), read from the spooled bytes before they go,
    and a recording's ffprobe facts (`check_document`'s probe of the same spool, cached by media_facts)."""
    media = None
    if received.media_type in media_facts.VIDEO:
        try:
            media = media_facts.probe(received.path, received.media_type)
        except media_facts.Unreadable:
            media = None  # refused by check_document already, when it was an upload
    return replace(received, format=formats.identify(received.path, received.media_type), media=media)
