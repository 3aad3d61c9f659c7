"""The strict ZIP reading, on packages written by hoso's own writer and on a changed byte of each kind.

Pure: a temporary file, no store, no database, no server."""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive import zipcheck
from archive.package import PackageWriter

WHEN = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def package(tmp_path: Path, big: bytes = b"") -> Path:
    path = tmp_path / "goi.zip"
    with open(path, "wb") as out:
        writer = PackageWriter(out, "hoso-test", "DIP", "Gói thử", "0.1.0")
        writer.add("representations/rep1/data/r1/v1-giao-an.pdf", b"%PDF-1.7 " * 500, "application/pdf", WHEN)
        writer.add("representations/rep1/data/r1/v1-ghi-chu.txt", "Phân số, lớp 5".encode(), "text/plain", WHEN)
        if big:
            writer.add("representations/rep1/data/r1/v2-video.mp4", big, "video/mp4", WHEN)
        writer.finish(seal=lambda manifest: b"seal")
    return path


def changed(path: Path, at: int, data: bytes) -> Path:
    raw = bytearray(path.read_bytes())
    raw[at : at + len(data)] = data
    path.write_bytes(bytes(raw))
    return path


def english(problems: list[zipcheck.Problem]) -> list[str]:
    """The English side of each problem (the Vietnamese side is checked to exist for every one)."""
    assert all(p.vi and p.vi != p.en for p in problems)
    return [p.en for p in problems]


def test_a_package_as_hoso_writes_it_has_no_problems(tmp_path: Path) -> None:
    assert zipcheck.check(package(tmp_path)) == []


def test_a_stored_member_and_zip64_extras_are_read_as_written(tmp_path: Path) -> None:
    assert english(zipcheck.check(package(tmp_path, big=bytes(range(256)) * 4096))) == []


def test_too_short_to_be_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "ngan.zip"
    path.write_bytes(b"PK\x05\x06")
    assert english(zipcheck.check(path)) == ["too short to be a ZIP"]


def test_trailing_bytes_after_the_end_record(tmp_path: Path) -> None:
    path = package(tmp_path)
    path.write_bytes(path.read_bytes() + b"hidden")
    assert english(zipcheck.check(path)) == ["the end record is not at the end (a comment or trailing bytes)"]


def test_a_changed_time_in_a_local_header(tmp_path: Path) -> None:
    path = package(tmp_path)
    first = path.read_bytes()
    assert first[:4] == zipcheck.LOCAL
    (mtime,) = struct.unpack_from("<H", first, 10)
    problems = english(zipcheck.check(changed(path, 10, struct.pack("<H", mtime ^ 1))))
    assert problems == ["hoso-test/representations/rep1/data/r1/v1-giao-an.pdf: local header and directory disagree"]


def test_a_changed_entry_count_in_the_end_record(tmp_path: Path) -> None:
    path = package(tmp_path)
    size = path.stat().st_size
    (entries,) = struct.unpack_from("<H", path.read_bytes(), size - 22 + 8)
    problems = english(zipcheck.check(changed(path, size - 22 + 8, struct.pack("<H", entries - 1))))
    assert "the end record holds multi-disk fields or a comment" in problems


def test_the_central_directory_moved(tmp_path: Path) -> None:
    path = package(tmp_path)
    size = path.stat().st_size
    (offset,) = struct.unpack_from("<I", path.read_bytes(), size - 22 + 16)
    problems = english(zipcheck.check(changed(path, size - 22 + 16, struct.pack("<I", offset - 1))))
    assert problems == ["the central directory does not end where the end record begins"]


@pytest.mark.parametrize(
    ("attributes", "comment", "expected"),
    [
        (0o644 << 16, b"", "directory attributes differ from what hoso writes"),
        (0o600 << 16, b"note", "directory attributes differ from what hoso writes"),
    ],
)
def test_a_zip_written_another_way_is_told_apart(
    tmp_path: Path, attributes: int, comment: bytes, expected: str
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        info = zipfile.ZipInfo("a.txt", date_time=(2026, 11, 20, 8, 30, 0))
        info.external_attr, info.comment = attributes, comment
        z.writestr(info, b"du lieu")
    path = tmp_path / "khac.zip"
    path.write_bytes(buffer.getvalue())
    assert f"a.txt: {expected}" in english(zipcheck.check(path))


def test_an_unknown_extra_field_is_a_problem() -> None:
    assert zipcheck._zip64(struct.pack("<HH", 0x5455, 4) + b"\0\0\0\0") == (
        [],
        [zipcheck.Problem("unexpected extra field 0x5455", "trường phụ lạ 0x5455")],
    )
    assert zipcheck._zip64(b"\x01\x00")[1][0].en == "truncated extra field"
    assert zipcheck._zip64(struct.pack("<HHQ", 1, 8, 7)) == ([7], [])
