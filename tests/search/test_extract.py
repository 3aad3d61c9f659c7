"""Text extraction for the index: the words of real DOCX/XLSX files, read under a byte cap."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from archive import mediatype
from search import extract
from tests import factories
from tests.search.test_search_api import docx_plan, xlsx_gradebook

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def text_of(tmp_path: Path, data: bytes, media_type: str) -> str:
    path = tmp_path / f"f{mediatype.EXTENSIONS[media_type]}"  # openpyxl refuses a name without .xlsx
    path.write_bytes(data)
    return extract.extract_text(path, media_type)


def para(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def test_paragraphs_and_table_rows_of_a_docx(tmp_path: Path) -> None:
    text = text_of(tmp_path, docx_plan("Bài 20: Chiến thắng", "Năm 1954."), mediatype.DOCX)
    assert text.splitlines() == ["Bài 20: Chiến thắng", "Năm 1954.", "Hoạt động | Tìm hiểu Điện Biên Phủ"]


def test_sheets_and_rows_of_an_xlsx(tmp_path: Path) -> None:
    text = text_of(tmp_path, xlsx_gradebook(), mediatype.XLSX)
    assert text.splitlines() == [
        "Lớp 4A",
        "Họ và tên | Toán | Tiếng Việt | Nhận xét",
        "Dương Văn An | 9 | 8 | Hoàn thành tốt",
        "Phạm Thị Bình | 7 | 9 | Tiến bộ",
    ]


def test_a_docx_part_is_read_only_up_to_the_byte_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Words past MAX_XML_BYTES of markup are not read: the parser never takes the whole part."""
    monkeypatch.setattr(extract, "MAX_XML_BYTES", 200_000, raising=False)
    data = factories.docx_with_body(para("đầu tiên") + "<w:p/>" * 60_000 + para("cuối cùng"))  # 360 KB of markup
    text = text_of(tmp_path, data, mediatype.DOCX)
    assert "đầu tiên" in text and "cuối cùng" not in text


def test_a_stored_bomb_is_read_to_the_character_limit(tmp_path: Path) -> None:
    """A bomb stored before ingest refused them (reindexed later) yields at most `limit` characters."""
    text = extract.extract_text(_written(tmp_path, factories.docx_bomb(8 * 1024 * 1024)), mediatype.DOCX, 5_000)
    assert 0 < len(text) <= 5_000 and text.startswith("Bài học hôm nay")


def test_entities_in_a_part_are_not_expanded(tmp_path: Path) -> None:
    body = para("&a;&a;&a;")
    xml = f'<!DOCTYPE w:document [<!ENTITY a "{"x" * 1000}">]><w:document {W}><w:body>{body}</w:body></w:document>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", xml)
    assert "x" * 1000 not in text_of(tmp_path, buf.getvalue(), mediatype.DOCX)


def _written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bomb.docx"
    path.write_bytes(data)
    return path
