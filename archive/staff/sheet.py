"""A staff list as rows of text, from the CSV or XLSX a school's office already has.

What a school's PC writes, and so what is read:
- Excel's "CSV UTF-8" (UTF-8 with a BOM) and any UTF-8 file; Excel's "Unicode Text" (UTF-16 with
  a BOM, tab-separated); Excel's plain "CSV" on a Vietnamese Windows, which is Windows-1258 (tone
  marks as combining characters: normalised to NFC here). Windows-1258 decodes almost any bytes,
  so its text must read as Vietnamese: a TCVN3 (".VnTime") list decodes to "Hä vµ tªn", whose
  letters are not Vietnamese, and is refused with the way to save it again, never imported garbled.
- The separator is the header line's most frequent of `,` `;` and tab: Vietnamese Windows writes
  `;` (its decimal mark is the comma).
- XLSX is first checked like any uploaded OOXML (`archive/ooxmlcheck.py`: no bomb, no macros, not
  damaged), then held to `MAX_INFLATED`, far under what a document may inflate to: openpyxl loads
  a sheet's shared strings whole, and a list of 1,000 people is ~200 KB of XML.

Limits: `MAX_BYTES` 2 MiB (1,000 people are ~100 KB of CSV, ~60 KB of XLSX) and `MAX_ROWS`.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from archive import ooxmlcheck
from archive.exceptions import InvalidInput, UnsupportedMediaType, UploadTooLarge

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 1000
MAX_COLUMNS = 50
MAX_INFLATED = 32 * 1024 * 1024
_VIETNAMESE = set(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
)
_RESAVE_VI = 'Hãy mở tệp bằng Excel, chọn "Lưu thành" kiểu "CSV UTF-8 (Comma delimited)" hoặc "Excel Workbook (.xlsx)".'
_RESAVE_EN = 'Open it in Excel and "Save As" type "CSV UTF-8 (Comma delimited)" or "Excel Workbook (.xlsx)".'


@dataclass(frozen=True)
class Sheet:
    """The rows of a staff list, each with its row number as the spreadsheet shows it (the header is 1)."""

    rows: list[tuple[int, list[str]]]


def read(data: bytes, name: str) -> Sheet:
    """The rows of a CSV or XLSX staff list; refused (nothing read) when too large, empty or unreadable."""
    if len(data) > MAX_BYTES:
        raise UploadTooLarge(
            f"Tệp {name!r} quá lớn ({len(data) / 1024 / 1024:.1f} MB); danh sách nhân sự tối đa "
            f"{MAX_BYTES // 1024 // 1024} MB ({MAX_ROWS} người). Hãy chia thành nhiều tệp.",
            f"The file {name!r} is too large ({len(data) / 1024 / 1024:.1f} MB); a staff list may be at most "
            f"{MAX_BYTES // 1024 // 1024} MB ({MAX_ROWS} people). Split it into several files.",
        )
    if not data.strip():
        raise InvalidInput(
            f"Tệp {name!r} trống. Hãy điền danh sách vào tệp mẫu rồi chọn lại.",
            f"The file {name!r} is empty. Fill in the template, then choose it again.",
        )
    rows = _xlsx_rows(data, name) if data.startswith(b"PK\x03\x04") else _csv_rows(_decode(data, name))
    kept = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
    if len(kept) > MAX_ROWS + 1:
        raise UploadTooLarge(
            f"Tệp {name!r} có hơn {MAX_ROWS} dòng; hãy chia thành nhiều tệp.",
            f"The file {name!r} has more than {MAX_ROWS} rows; split it into several files.",
        )
    if not kept:
        raise InvalidInput(
            f"Tệp {name!r} không có dòng nào có chữ. Hãy điền danh sách vào tệp mẫu rồi chọn lại.",
            f"The file {name!r} has no row with any text. Fill in the template, then choose it again.",
        )
    return Sheet(rows=kept)


def _wrong_encoding(name: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Tệp {name!r} không đọc được chữ tiếng Việt (không phải bảng mã Unicode hoặc Windows-1258; có thể là "
        f"TCVN3/VNI). {_RESAVE_VI}",
        f"The file {name!r} does not read as Vietnamese text (neither Unicode nor Windows-1258; perhaps TCVN3/VNI). "
        f"{_RESAVE_EN}",
        reason="encoding",
    )


def _decode(data: bytes, name: str) -> str:
    try:
        if data.startswith(codecs.BOM_UTF8):
            text = data[len(codecs.BOM_UTF8) :].decode("utf-8")
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            text = _utf8_or_windows_1258(data, name)
    except UnicodeDecodeError:
        raise _wrong_encoding(name) from None
    if "\x00" in text:  # UTF-16 without its BOM, or not a text file at all
        raise _wrong_encoding(name)
    return unicodedata.normalize("NFC", text)


def _utf8_or_windows_1258(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = unicodedata.normalize("NFC", data.decode("cp1258"))
    if any(c.isalpha() and not c.isascii() and c not in _VIETNAMESE for c in text):
        raise _wrong_encoding(name)
    return text


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(n, cells[:MAX_COLUMNS]) for n, cells in enumerate(reader, start=1) if n <= MAX_ROWS + 10_000]


def _xlsx_rows(data: bytes, name: str) -> list[tuple[int, list[str]]]:
    with tempfile.TemporaryDirectory(prefix="hoso-staff-") as folder:
        path = Path(folder) / "staff.xlsx"
        path.write_bytes(data)
        ooxmlcheck.check(path, name)  # bombs, macros, damage: refused as any uploaded XLSX is
        with zipfile.ZipFile(path) as zf:
            inflated = sum(m.file_size for m in zf.infolist())
        if inflated > MAX_INFLATED:
            raise UploadTooLarge(
                f"Tệp {name!r} khi giải nén có {inflated / 1024 / 1024:,.0f} MB, quá lớn cho một danh sách nhân sự "
                f"(tối đa {MAX_INFLATED // 1024 // 1024} MB). Hãy xóa các trang tính và định dạng thừa, hoặc dùng tệp "
                "mẫu.",
                f"The file {name!r} unpacks to {inflated / 1024 / 1024:,.0f} MB, too large for a staff list (at most "
                f"{MAX_INFLATED // 1024 // 1024} MB). Remove extra sheets and formatting, or use the template.",
                reason="decompression_bomb",
            )
        return _first_sheet(path, name)


def _first_sheet(path: Path, name: str) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises KeyError, ValueError, … on a ZIP that is not a workbook
        raise UnsupportedMediaType(
            f"Tệp {name!r} không phải bảng tính Excel (.xlsx) đọc được. {_RESAVE_VI}",
            f"The file {name!r} is not a readable Excel workbook (.xlsx). {_RESAVE_EN}",
            reason="damaged",
        ) from None
    try:
        sheet = book.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        for n, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            if n > MAX_ROWS + 10_000:
                break
            rows.append((n, [_cell(v) for v in values]))
        return rows
    finally:
        book.close()


def _cell(value: object) -> str:
    """A cell as the person typed it: 12345 not "12345.0" (an ID typed as a number), "" for nothing."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFC", str(value))
