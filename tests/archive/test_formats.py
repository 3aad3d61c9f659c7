"""PRONOM identification narrowed by hoso's own sniffing gives what fido's whole registry gives."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from archive import formats, mediatype
from tests.factories import lesson_plan_pdf, pdf_bytes


def _docx() -> bytes:
    import docx

    document, out = docx.Document(), io.BytesIO()
    document.add_paragraph("Kế hoạch bài dạy")
    document.save(out)
    return out.getvalue()


def _xlsx() -> bytes:
    from openpyxl import Workbook

    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "media_type", "make", "puid"),
    [
        ("padded.pdf", mediatype.PDF, lambda: pdf_bytes("x", pad=200_000), "fmt/276"),
        ("plan.pdf", mediatype.PDF, lambda: lesson_plan_pdf("Phân số"), None),
        ("plan.docx", mediatype.DOCX, _docx, "fmt/412"),
        ("book.xlsx", mediatype.XLSX, _xlsx, "fmt/214"),
        ("scan.png", mediatype.PNG, _png, "fmt/11"),
    ],
)
def test_the_sniffed_type_narrows_the_search_not_the_answer(
    tmp_path: Path, name: str, media_type: str, make: object, puid: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(make())  # type: ignore[operator]
    narrowed, everything = formats.identify(path, media_type), formats.identify(path)
    assert narrowed is not None and narrowed == everything
    assert puid is None or narrowed.puid == puid


def test_a_file_that_is_not_its_claimed_type_gets_no_puid_rather_than_a_wrong_one(tmp_path: Path) -> None:
    path = tmp_path / "not.pdf"
    path.write_bytes(_png())
    assert formats.identify(path, mediatype.PDF) is None
    found = formats.identify(path)
    assert found is not None and found.puid == "fmt/11"
