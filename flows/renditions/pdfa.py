"""A check around the OCR job: what a PDF says it is (its XMP PDF/A identification). A photo is made
ready for OCRmyPDF by `archive.photo_set.flattened` (img2pdf, inside OCRmyPDF, refuses an alpha channel).

The identification is read from the document's XMP packet (ISO 19005: `pdfaid:part` and
`pdfaid:conformance`, as an attribute or an element) rather than trusted from OCRmyPDF's log: it
is what an archive's validator and an inspector's reader look at, and what the tests check.
"""

from __future__ import annotations

import re
from pathlib import Path

_PART = re.compile(rb"pdfaid:part(?:=\"|>)\s*(\d)")
_CONFORMANCE = re.compile(rb"pdfaid:conformance(?:=\"|>)\s*([A-Za-z])")


def identification(path: Path) -> tuple[str, str] | None:
    """('2', 'B') for PDF/A-2b; None when the PDF states no PDF/A identification (or is no PDF)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with open(path, "rb") as f:
            metadata = PdfReader(f).xmp_metadata
            if metadata is None:
                return None
            packet: bytes = metadata.stream.get_data()
    except (PyPdfError, OSError, ValueError):
        return None
    part, conformance = _PART.search(packet), _CONFORMANCE.search(packet)
    if part is None or conformance is None:
        return None
    return part.group(1).decode(), conformance.group(1).decode().upper()
