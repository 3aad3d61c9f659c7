"""Is this DOCX/XLSX a document, or a decompression bomb? Checked before a byte is stored.

A DOCX is a ZIP of XML parts, and ZIP lets 88 KB hold a 60 MB `document.xml`: accepted, such a file
took the server from 414 MB to 1.78 GB of memory while its text was extracted, and left it
unresponsive for over 10 s. So every member is bounded here, from the ZIP's directory first (cheap)
and then by inflating each member in 1 MiB chunks (memory stays at one chunk) to prove what the
directory says: the right size, the right CRC, nothing cut short.

The limits, and why:
- `MAX_RATIO` 100×, for members over `RATIO_GRACE` (1 MiB): real XML parts of Office documents
  inflate 5–20× and pictures ~1×; Apache POI refuses the same ratio (its minimum inflate ratio
  0.01). Small parts are exempt: a 200 KB sheet of identical empty rows may well inflate 150×, and
  under 1 MiB it costs nothing.
- `MAX_TOTAL` 256 MiB uncompressed: a 60-page plan full of photos is ~30–50 MB (pictures are stored
  almost as they are), so five times that is still a document; beyond it the inflate pass is no
  longer cheap (185 MB inflated took 2.5 s on the shared 2-core test machine).
- `MAX_MEMBERS` 10,000: a DOCX has ~15–50 parts, a workbook with many sheets and pictures hundreds.
- Macros (`vbaProject.bin`, a .docm/.xlsm renamed) are refused like JavaScript in a PDF: an archived
  record is a static document, and the original is what hoso keeps and signs, so it is never
  rewritten to strip them.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from archive.exceptions import UnsupportedMediaType, UploadTooLarge

MAX_RATIO = 100
RATIO_GRACE = 1024 * 1024
MAX_TOTAL = 256 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_DIRECTORY = 4 * 1024 * 1024  # the central directory of MAX_MEMBERS entries is ~1 MB
CHUNK = 1024 * 1024
_END = b"PK\x05\x06"
_MIB = 1024 * 1024

_SAVE_VI = "Hãy mở tệp bằng Word/Excel, lưu lại rồi tải lên lần nữa."
_SAVE_EN = "Open it in Word/Excel, save it again, then upload it again."


def directory_fits(path: Path) -> bool:
    """Whether the ZIP's central directory is small enough to read (before `zipfile` reads it whole).

    `zipfile.ZipFile` parses every directory entry into an object; a 3 GB upload of empty entries
    would be millions of them. ZIP64 archives (only needed past 4 GB or 65,535 entries) are not
    Office documents a school writes, and are not read.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        tail_start = max(0, size - 22 - 0xFFFF)  # the end record, after a comment of up to 64 KiB
        f.seek(tail_start)
        tail = f.read()
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < 22:
        return False
    entries, directory_size = struct.unpack_from("<HI", tail, at + 10)
    return bool(entries != 0xFFFF and directory_size != 0xFFFFFFFF and directory_size <= MAX_DIRECTORY)


def _damaged(name: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Tệp {name!r} không dùng được: tệp Word/Excel bị hỏng hoặc không hoàn chỉnh. {_SAVE_VI}",
        f"The file {name!r} cannot be accepted: the Word/Excel file is damaged or incomplete. {_SAVE_EN}",
        reason="damaged",
    )


def _bomb(name: str, vi: str, en: str) -> UploadTooLarge:
    return UploadTooLarge(
        f"Tệp {name!r} không dùng được: {vi} Có thể đây là tệp nén độc hại (zip bomb), hoặc tài liệu chứa "
        f"rất nhiều dòng/ô trống có định dạng. {_SAVE_VI}",
        f"The file {name!r} cannot be accepted: {en} It may be a malicious compressed file (a zip bomb), or a "
        f"document with a great many formatted empty rows or cells. {_SAVE_EN}",
        reason="decompression_bomb",
    )


def check(path: Path, name: str) -> None:
    """Refuse a DOCX/XLSX whose members inflate too far, do not inflate as declared, or carry macros."""
    if not directory_fits(path):
        raise _damaged(name)
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            _check_directory(members, name)
            for info in members:
                _inflate(zf, info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError, NotImplementedError):
        # a CRC or size that does not match, a member cut short, an encrypted or unknown-method member
        raise _damaged(name) from None


def _check_directory(members: list[zipfile.ZipInfo], name: str) -> None:
    if len(members) > MAX_MEMBERS:
        raise _damaged(name)
    if any(m.filename.lower().rsplit("/", 1)[-1] == "vbaproject.bin" for m in members):
        raise UnsupportedMediaType(
            f"Tệp {name!r} không dùng được: tệp chứa macro (mã lệnh tự chạy). Hồ sơ lưu trữ phải là tài liệu "
            f"tĩnh. Hãy lưu lại dưới dạng .docx/.xlsx thường (không macro) rồi tải lên.",
            f"The file {name!r} cannot be accepted: it contains macros (code that runs by itself). An archived "
            f"record must be a static document. Save it as a plain .docx/.xlsx (no macros) and upload that.",
            reason="active_content",
        )
    total = sum(m.file_size for m in members)
    if total > MAX_TOTAL:
        raise _bomb(
            name,
            f"khi giải nén tệp có {total / _MIB:,.0f} MB, quá giới hạn {MAX_TOTAL / _MIB:,.0f} MB.",
            f"unpacked it holds {total / _MIB:,.0f} MB, over the {MAX_TOTAL / _MIB:,.0f} MB limit.",
        )
    for m in members:
        if m.file_size > RATIO_GRACE and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            ratio = m.file_size / max(m.compress_size, 1)
            raise _bomb(
                name,
                f"phần {m.filename!r} nở ra {ratio:,.0f} lần khi giải nén (giới hạn {MAX_RATIO} lần).",
                f"its part {m.filename!r} inflates {ratio:,.0f} times (the limit is {MAX_RATIO}).",
            )


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Inflate one member to its end, chunk by chunk: `zipfile` stops at the declared size and checks the CRC."""
    produced = 0
    with zf.open(info) as member:
        while chunk := member.read(CHUNK):
            produced += len(chunk)
    if produced != info.file_size:
        raise zipfile.BadZipFile(f"{info.filename}: {produced} bytes, {info.file_size} declared")


_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE compound file: how Office wraps a password-protected DOCX/XLSX


def is_encrypted(path: Path) -> bool:
    """A password-protected DOCX or XLSX: an OLE compound file holding `EncryptedPackage` (MS-OFFCRYPTO).

    Such a file is no ZIP, so the sniffer calls it unrecognised; the uploader is told instead that
    it has a password, because hoso can neither check its content nor make the PDF the principal
    reviews and stamps (LibreOffice, headless, cannot ask for the password)."""
    with open(path, "rb") as f:
        if f.read(8) != _CFB:
            return False
    import olefile  # the OLE reader opf-fido depends on (archive/formats.py)

    try:
        with olefile.OleFileIO(str(path)) as ole:
            return bool(ole.exists("EncryptedPackage"))
    except OSError:
        return False
