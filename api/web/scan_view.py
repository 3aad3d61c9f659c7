"""The record page's view of a scan or photo: what TT 05/2025's check found, and its PDF/A.

One entry per original version of paper (`archive.scan_models.ScanFacts`), with the `pdfa`
rendition made of it (flows/renditions/ocr.py): waiting, recognising (pages done of pages), made,
or failed and why. The template is `_scan.html`; the office renditions keep their own panel.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from archive import scans
from archive.models import Rendition, RenditionTarget


@dataclass
class ScanView:
    version: int
    pages: int
    pages_done: int
    dpi: int | None
    colour_bits: int | None
    warnings: list[tuple[str, str]]
    rendition: Rendition | None


def for_record(session: Session, record_id: str, made: list[Rendition]) -> list[ScanView]:
    ocr = {r.source_version: r for r in made if r.target == RenditionTarget.pdfa}
    return [
        ScanView(
            version=f.version_number,
            pages=f.pages,
            pages_done=f.pages_done,
            dpi=f.dpi,
            colour_bits=f.colour_bits,
            warnings=[(w[0], w[1]) for w in f.warnings],
            rendition=ocr.get(f.version_number),
        )
        for f in scans.facts_of(session, record_id)
    ]


def others(made: list[Rendition]) -> list[Rendition]:
    """The renditions the office panel shows (a scan's PDF/A has its own)."""
    return [r for r in made if r.target != RenditionTarget.pdfa]
