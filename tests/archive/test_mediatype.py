"""The sniffer decides by content: every accepted type recognised, every impostor refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from archive import mediatype
from tests import factories


def sniff_file(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "f"
    path.write_bytes(data)
    return mediatype.sniff(data[: mediatype.HEAD_BYTES], path)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (factories.pdf_bytes(), mediatype.PDF),
        (factories.docx_bytes(), mediatype.DOCX),
        (factories.xlsx_bytes(), mediatype.XLSX),
        (factories.csv_bytes(), mediatype.CSV),
        (b"a;b;c\n1;2;3\n", mediatype.CSV),
        (factories.mp4_bytes(), mediatype.MP4),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", mediatype.MOV),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", mediatype.WEBM),
        (factories.PNG, mediatype.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", mediatype.JPEG),
    ],
)
def test_recognised(tmp_path: Path, data: bytes, expected: str) -> None:
    assert sniff_file(tmp_path, data) == expected


def _zip(**members: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        factories.EXE,
        b"\x7fELF\x02\x01\x01",
        _zip(**{"readme.txt": "x"}),  # a plain ZIP renamed .docx
        factories.docx_bytes()[:60],  # a truncated DOCX
        factories.exe_with_pdf_header(),  # %PDF- must start the file, not follow a program's header
        factories.html_with_pdf_line(),
        b"just one line of prose without separators\n",
        b"a,b\n\x00\x01binary,garbage\n",
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska",
        b"",
    ],
)
def test_impostors_are_unknown(tmp_path: Path, data: bytes) -> None:
    assert sniff_file(tmp_path, data) == mediatype.UNKNOWN
