"""A strict reading of a ZIP container: every byte of it is accounted for and consistent.

The seal covers the manifest and the manifest covers every file's content, but a ZIP also has
headers: names, sizes, CRCs, times, attributes, a directory at the end. A changed header byte need
not change any content (a file's time, say), and a lenient reader would not notice. hoso writes its
packages in one canonical way, so the verifier can demand exactly that: members laid end to end
from offset 0, each local header agreeing with its directory entry, the directory right after the
last member, no comments, no unknown extra fields, and the attributes hoso writes. Any flipped byte
anywhere then shows up as a content hash, seal, CRC or layout failure.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO, NamedTuple

LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"
END = b"PK\x05\x06"
END64 = b"PK\x06\x06"
LOCATOR64 = b"PK\x06\x07"
ZIP64_EXTRA = 0x0001
ATTRIBUTES = 0o600 << 16  # what hoso's writer leaves on every member
MAX_DIRECTORY = 256 * 1024 * 1024


class Problem(NamedTuple):
    """One fault in the container, in English and in Vietnamese: the verifier prints both, and a
    Vietnamese line must not carry English words (an inspector reads it)."""

    en: str
    vi: str


def at(label: str, en: str, vi: str) -> Problem:
    """A fault of the member named `label`."""
    return Problem(f"{label}: {en}", f"{label}: {vi}")


def _zip64(extra: bytes) -> tuple[list[int], list[Problem]]:
    """The 8-byte values of the ZIP64 extra field, and problems (any other extra field is one)."""
    values: list[int] = []
    problems: list[Problem] = []
    pos = 0
    while pos < len(extra):
        if pos + 4 > len(extra):
            return values, [Problem("truncated extra field", "trường phụ bị cắt cụt")]
        kind, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if kind != ZIP64_EXTRA or len(body) != size or size % 8:
            problems.append(Problem(f"unexpected extra field 0x{kind:04x}", f"trường phụ lạ 0x{kind:04x}"))
        else:
            values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, size, 8)]
        pos += 4 + size
    return values, problems


def check(path: Path) -> list[Problem]:
    """Problems with the container's layout (empty when it is exactly as hoso writes it)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size < 22:
            return [Problem("too short to be a ZIP", "quá ngắn, không thể là một tệp ZIP")]
        found, problems = _directory(f, size)
        if found is None:
            return problems
        f.seek(found.offset)
        directory = f.read(found.size)
        expected_offset = 0
        pos = 0
        for number in range(found.entries):
            step = _member(f, directory, pos, number, expected_offset, problems)
            if step is None:
                return problems
            pos, expected_offset = step
        if pos != len(directory):
            problems.append(
                Problem(
                    "the central directory holds more than its entries",
                    "thư mục trung tâm chứa nhiều hơn số mục đã khai",
                )
            )
        if expected_offset != found.offset:
            problems.append(
                Problem(
                    "bytes between the last member and the central directory",
                    "có dữ liệu thừa giữa tệp cuối và thư mục trung tâm",
                )
            )
    return problems


class _Directory(NamedTuple):
    entries: int
    size: int
    offset: int


def _directory(f: BinaryIO, size: int) -> tuple[_Directory | None, list[Problem]]:
    """Where the central directory is, from the end record (and its ZIP64 form), and the problems
    found on the way; no directory when the layout is too broken to read on."""
    f.seek(size - 22)
    end = f.read(22)
    if end[:4] != END:
        return None, [
            Problem(
                "the end record is not at the end (a comment or trailing bytes)",
                "bản ghi kết thúc không nằm ở cuối (có lời chú thích hoặc dữ liệu thừa)",
            )
        ]
    disk, cd_disk, n_disk, n_total, cd_size, cd_offset, comment = struct.unpack("<HHHHIIH", end[4:])
    problems: list[Problem] = []
    if disk or cd_disk or comment or n_disk != n_total:
        problems.append(
            Problem(
                "the end record holds multi-disk fields or a comment",
                "bản ghi kết thúc có trường nhiều đĩa hoặc lời chú thích",
            )
        )
    end_start = size - 22
    if 0xFFFF in (n_total,) or 0xFFFFFFFF in (cd_size, cd_offset):
        f.seek(size - 22 - 20)
        locator = f.read(20)
        if locator[:4] != LOCATOR64:
            return None, [*problems, Problem("ZIP64 locator missing", "thiếu bộ định vị ZIP64")]
        _disk, end64_offset, _disks = struct.unpack("<IQI", locator[4:])
        f.seek(end64_offset)
        record = f.read(56)
        if record[:4] != END64:
            return None, [*problems, Problem("ZIP64 end record missing", "thiếu bản ghi kết thúc ZIP64")]
        n_total, cd_size, cd_offset = struct.unpack_from("<QQQ", record, 24 + 8)
        if end64_offset + 56 != size - 22 - 20:
            problems.append(
                Problem(
                    "bytes between the ZIP64 end record and its locator",
                    "có dữ liệu thừa giữa bản ghi kết thúc ZIP64 và bộ định vị của nó",
                )
            )
        end_start = end64_offset
    if cd_offset + cd_size != end_start or cd_size > MAX_DIRECTORY:
        problems.append(
            Problem(
                "the central directory does not end where the end record begins",
                "thư mục trung tâm không kết thúc tại chỗ bản ghi kết thúc bắt đầu",
            )
        )
        return None, problems
    return _Directory(n_total, cd_size, cd_offset), problems


def _member(
    f: BinaryIO, directory: bytes, pos: int, number: int, expected_offset: int, problems: list[Problem]
) -> tuple[int, int] | None:
    """Check one member: its directory entry at `pos` and its local header, which must start at
    `expected_offset` and agree with it. Adds to `problems`; returns where the next entry and the
    next member start, or None when the layout is too broken to read on."""
    head = directory[pos : pos + 46]
    if head[:4] != CENTRAL or len(head) < 46:
        problems.append(Problem(f"directory entry {number} is damaged", f"mục thư mục số {number} bị hỏng"))
        return None
    (
        made_by,
        needed,
        flags,
        method,
        mtime,
        mdate,
        crc,
        csize,
        usize,
        name_len,
        extra_len,
        comment_len,
        disk_start,
        internal,
        external,
        offset,
    ) = struct.unpack("<HHHHHHIIIHHHHHII", head[4:])
    name = directory[pos + 46 : pos + 46 + name_len]
    extra = directory[pos + 46 + name_len : pos + 46 + name_len + extra_len]
    label = name.decode("utf-8", "replace")
    pos += 46 + name_len + extra_len + comment_len
    values, bad = _zip64(extra)
    problems += [at(label, b.en, b.vi) for b in bad]
    it = iter(values)
    usize = next(it) if usize == 0xFFFFFFFF else usize
    csize = next(it) if csize == 0xFFFFFFFF else csize
    offset = next(it, offset) if offset == 0xFFFFFFFF else offset
    if comment_len or disk_start or internal or external != ATTRIBUTES or made_by >> 8 != 3:
        problems.append(
            at(
                label,
                "directory attributes differ from what hoso writes",
                "thuộc tính trong thư mục khác với cách hoso ghi",
            )
        )
    if made_by & 0xFF != needed or flags & ~0x0800:
        problems.append(
            at(label, "version or flags differ from what hoso writes", "phiên bản hoặc cờ khác với cách hoso ghi")
        )
    if offset != expected_offset:
        problems.append(
            at(
                label,
                "not laid end to end (bytes between members)",
                "các tệp không nằm liền nhau (có dữ liệu xen giữa)",
            )
        )
        return None
    f.seek(offset)
    local = f.read(30)
    if local[:4] != LOCAL or len(local) < 30:
        problems.append(at(label, "local header damaged", "tiêu đề cục bộ bị hỏng"))
        return None
    l_needed, l_flags, l_method, l_time, l_date, l_crc, l_csize, l_usize, l_name, l_extra = struct.unpack(
        "<HHHHHIIIHH", local[4:]
    )
    local_name = f.read(l_name)
    local_extra = f.read(l_extra)
    l_values, bad = _zip64(local_extra)
    problems += [at(label, f"local {b.en}", f"tiêu đề cục bộ: {b.vi}") for b in bad]
    l_it = iter(l_values)
    l_usize = next(l_it) if l_usize == 0xFFFFFFFF else l_usize
    l_csize = next(l_it) if l_csize == 0xFFFFFFFF else l_csize
    local_fields = (l_needed, l_flags, l_method, l_time, l_date, l_crc, l_csize, l_usize, local_name)
    if local_fields != (needed, flags, method, mtime, mdate, crc, csize, usize, name):
        problems.append(at(label, "local header and directory disagree", "tiêu đề cục bộ và thư mục không khớp"))
    return pos, offset + 30 + l_name + l_extra + csize
