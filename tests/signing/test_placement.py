"""Stamp placement (signing/placement.py) on small drawn PDFs: blank room first, never over content.

Pure and fast: a page drawn by reportlab, searched by PDFium; no key, no PKI, no database.
"""

from __future__ import annotations

import io

from signing import placement
from signing.models import StampPlace

STAMP = (200.0, 60.0)


def pdf(*pages: str) -> bytes:
    """A PDF of A4 pages: "blank", "full" (black to the edges) or "top" (content in the upper half only)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    width, height = A4
    for kind in pages:
        if kind == "full":
            c.rect(0, 0, width, height, fill=1)
        elif kind == "top":
            c.rect(0, height / 2, width, height / 2, fill=1)
        c.showPage()
    c.save()
    return out.getvalue()


def test_a_blank_last_page_takes_the_stamp_at_its_bottom_right() -> None:
    found = placement.find(pdf("full", "blank"), "last", *STAMP)
    assert found.place == StampPlace.last_page and found.page_index == 1
    assert found.box is not None
    x1, y1, x2, y2 = found.box
    assert (x2 - x1, y2 - y1) == STAMP
    assert x1 > 595 / 2 and y1 < 842 / 4  # bottom right, where a signature block sits
    assert found.size == (595.0, 842.0) or abs(found.size[0] - 595.3) < 1


def test_the_stamp_never_covers_content() -> None:
    found = placement.find(pdf("top"), "last", *STAMP)
    assert found.place == StampPlace.last_page and found.box is not None
    assert found.box[3] <= 842 / 2  # below the drawn upper half


def test_a_full_last_page_gets_an_added_page_by_default() -> None:
    found = placement.find(pdf("blank", "full"), "last", *STAMP)
    assert found.place == StampPlace.added_page and found.page_index == 2 and found.box is None


def test_the_first_page_fallback_tries_the_first_page_before_adding_one() -> None:
    found = placement.find(pdf("blank", "full"), "last", *STAMP, fallback="first-page")
    assert found.place == StampPlace.first_page and found.page_index == 0 and found.box is not None
    full = placement.find(pdf("full", "full"), "last", *STAMP, fallback="first-page")
    assert full.place == StampPlace.added_page


def test_a_signed_file_gets_no_added_page_and_is_signed_invisibly_when_full() -> None:
    tried_first = placement.find(pdf("blank", "full"), "last", *STAMP, may_add=False)
    assert tried_first.place == StampPlace.first_page and tried_first.page_index == 0
    nowhere = placement.find(pdf("full", "full"), "last", *STAMP, may_add=False)
    assert nowhere.place == StampPlace.invisible and nowhere.box is None and nowhere.page_index == 1


def test_asking_for_the_first_page_places_it_there() -> None:
    found = placement.find(pdf("blank", "blank"), "first", *STAMP)
    assert found.place == StampPlace.first_page and found.page_index == 0


def test_a_stamp_larger_than_the_page_finds_no_room() -> None:
    assert placement.find(pdf("blank"), "last", 2000.0, 60.0).place == StampPlace.added_page


def test_what_the_principal_is_told_covers_every_place() -> None:
    assert set(placement.SAID) == set(StampPlace)
    assert all(vi and en and vi != en for vi, en in placement.SAID.values())
    assert StampPlace.last_page not in placement.NOTEWORTHY and StampPlace.detached not in placement.NOTEWORTHY
