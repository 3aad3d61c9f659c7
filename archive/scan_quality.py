"""Is this upload a scan or a photo of paper, and is it good enough for TT 05/2025 Điều 8?

A scan (a PDF none of whose pages has text, but which has images), a JPEG, a PNG or a TIFF gets a
PDF/A-2b rendition with a Vietnamese text layer (`archive.renditions.queue_ocr`, made by
flows/renditions/ocr.py). Two kinds of PDF are never OCRed: one that already has text (it is
already searchable: OCR would only add a second, worse text layer), and a signed one or one with
a signature field (an original is never rewritten, and a signature's appearance is evidence: it
stays exactly as it was, the lesson of Paperless-ngx's issues where OCR dropped signatures).

TT 05/2025/TT-BNV Điều 8 (DESIGN §5) asks for ≥ 200 dpi (300 for maps and drawings) and ≥ 24-bit
colour. A photo's dpi is what the file says (Pillow reads JFIF/EXIF/PNG pHYs/TIFF tags); a scanned
PDF's is each image's pixels over the size it is drawn at on its page (PDFium's image metadata),
so a 200 dpi scan printed onto an A4 page by a scanner's driver reads 200. The lowest page counts.
What is found is said to the uploader in plain Vietnamese, and the record type decides (its
`scan_policy`, data in the record-type schedule): `warn` stores the file with the warning shown on
the upload's answer and the record page, `refuse` answers 422 before a byte is stored.

Measured here (pypdfium2 5.15, one core): a 300-page image-only PDF is examined in ~0.3 s (text
count and image metadata per page, no rendering); a photo's header in < 1 ms. Results are kept
for the last few spooled files (`examine` is called at the check, before storing, and again when
the version row is written, inside the write lock, where it must cost nothing).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from archive import mediatype
from archive.exceptions import InvalidInput

log = logging.getLogger(__name__)

IMAGES = frozenset({mediatype.JPEG, mediatype.PNG, mediatype.TIFF})
MIN_DPI = 200  # TT 05/2025 Điều 8; maps and drawings: 300 (a record type's `scan_min_dpi`)
MIN_COLOUR_BITS = 24
MAX_PAGES_MEASURED = 2_000  # beyond this a register's dpi is taken from its first pages
MAX_FRAMES = 500  # a multi-page TIFF
CHUNK = 1024 * 1024
BITS = {"1": 1, "L": 8, "P": 8, "LA": 16, "I;16": 16, "RGB": 24, "YCbCr": 24, "LAB": 24, "RGBA": 32, "CMYK": 32}


class ScanPolicy(StrEnum):
    warn = "warn"  # stored, with the warning shown to the uploader and on the record page
    refuse = "refuse"  # 422 before anything is stored


@dataclass(frozen=True)
class Scan:
    """What an upload of paper is: its pages, its lowest resolution and colour depth."""

    pages: int
    dpi: int | None  # None: the file does not say (a photo without density)
    colour_bits: int | None


def findings(scan: Scan, min_dpi: int = MIN_DPI) -> list[tuple[str, str]]:
    """What falls short of TT 05/2025 Điều 8, as the uploader reads it (Vietnamese, English)."""
    out: list[tuple[str, str]] = []
    if scan.dpi is None:
        out.append(
            (
                f"ảnh không ghi độ phân giải (dpi); Thông tư 05/2025 yêu cầu từ {min_dpi} dpi",
                f"the image does not state its resolution (dpi); Circular 05/2025 asks for {min_dpi} dpi or more",
            )
        )
    elif scan.dpi < min_dpi:
        out.append(
            (
                f"ảnh quét {scan.dpi} dpi, dưới mức {min_dpi} dpi của Thông tư 05/2025",
                f"the scan is {scan.dpi} dpi, below the {min_dpi} dpi of Circular 05/2025",
            )
        )
    if scan.colour_bits is not None and scan.colour_bits < MIN_COLOUR_BITS:
        out.append(
            (
                f"ảnh {scan.colour_bits} bit màu, dưới mức {MIN_COLOUR_BITS} bit màu của Thông tư 05/2025",
                f"the image has {scan.colour_bits}-bit colour, below the {MIN_COLOUR_BITS}-bit colour "
                "of Circular 05/2025",
            )
        )
    return out


def enforce(path: Path, sha256: str, media_type: str, policy: str, min_dpi: int, name: str) -> Scan | None:
    """The scan's facts, or a 422 (nothing stored yet) when the record type refuses what falls short."""
    if media_type in IMAGES:
        require_readable_image(path, name)
    scan = examine(path, sha256, media_type)
    if scan is None:
        return None
    short = findings(scan, min_dpi)
    if short and policy == ScanPolicy.refuse:
        raise InvalidInput(
            f"Không nhận tệp {name!r}: {'; '.join(vi for vi, _ in short)}. Hãy quét lại từ {min_dpi} dpi, "
            f"màu {MIN_COLOUR_BITS} bit, rồi tải lên lần nữa.",
            f"The file {name!r} was not accepted: {'; '.join(en for _, en in short)}. Scan it again at "
            f"{min_dpi} dpi or more in {MIN_COLOUR_BITS}-bit colour, then upload it again.",
            field="file",
        )
    return scan


@functools.lru_cache(maxsize=16)
def examine(path: Path, sha256: str, media_type: str) -> Scan | None:
    """A scan's facts; None when the file is no scan (text, a signed PDF, not an image or PDF).

    `sha256` is part of the cache key: a spool's path is unique while it lives, its hash says
    its bytes are the same."""
    try:
        if media_type in IMAGES:
            return _image(path)
        if media_type == mediatype.PDF:
            return _pdf(path)
    except Exception as e:  # a damaged file was refused by the checks before; never fail an upload here
        log.warning("could not examine %s (%s) as a scan: %r", path.name, media_type, e)
    return None


def require_readable_image(path: Path, name: str) -> None:
    """An image whose header Pillow cannot read is refused at upload; damage further in (a cut-off
    photo) is found by the OCR job, which fails alone and says so on the record page."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as e:
        log.info("refused image %s: %r", name, e)
        raise InvalidInput(
            f"Không đọc được ảnh {name!r} (tệp hỏng hoặc quá lớn). Hãy chụp hoặc quét lại rồi tải lên lần nữa.",
            f"The image {name!r} cannot be read (damaged or too large). Take or scan it again and upload it again.",
            field="file",
        ) from None
    if width < 1 or height < 1:
        raise InvalidInput(f"Ảnh {name!r} không có điểm ảnh nào.", f"The image {name!r} has no pixels.", field="file")


def _image(path: Path) -> Scan:
    from PIL import Image

    with Image.open(path) as image:
        frames = min(int(getattr(image, "n_frames", 1)), MAX_FRAMES)
        lowest_dpi: int | None = None
        lowest_bits: int | None = None
        stated = True
        for frame in range(frames):
            image.seek(frame)
            dpi = _stated_dpi(image.info)
            stated = stated and dpi is not None
            if dpi is not None:
                lowest_dpi = dpi if lowest_dpi is None else min(lowest_dpi, dpi)
            bits = BITS.get(image.mode)
            if bits is not None:
                lowest_bits = bits if lowest_bits is None else min(lowest_bits, bits)
    return Scan(pages=frames, dpi=lowest_dpi if stated else None, colour_bits=lowest_bits)


def _stated_dpi(info: dict[Any, Any]) -> int | None:
    """The horizontal/vertical density the file states, the lower one; None when absent or 0/1
    (a JFIF header with units 0 states only an aspect ratio, which Pillow reports as 1 dpi)."""
    dpi = info.get("dpi")
    if not dpi:
        return None
    try:
        low = min(float(dpi[0]), float(dpi[1]))
    except (TypeError, ValueError, IndexError):
        return None
    return round(low) if low > 1 else None


def _pdf(path: Path) -> Scan | None:
    """A PDF is a scan when no page has text and some page has an image, and nobody signed it."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from archive.preview import PDFIUM_LOCK  # PDFium is not thread-safe: one use at a time

    lowest_dpi: float | None = None
    lowest_bits: int | None = None
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(str(path))
        try:
            pages = len(document)
            for number in range(pages):
                page = document[number]
                try:
                    textpage = page.get_textpage()
                    try:
                        if textpage.count_chars() > 0:
                            return None  # already searchable: left as it is
                    finally:
                        textpage.close()
                    if number >= MAX_PAGES_MEASURED:
                        continue
                    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
                        meta = image.get_metadata()
                        dpi = min(float(meta.horizontal_dpi), float(meta.vertical_dpi))
                        if dpi > 0:
                            lowest_dpi = dpi if lowest_dpi is None else min(lowest_dpi, dpi)
                        if meta.bits_per_pixel > 0:
                            bits = int(meta.bits_per_pixel)
                            lowest_bits = bits if lowest_bits is None else min(lowest_bits, bits)
                finally:
                    page.close()
        finally:
            document.close()
    if lowest_dpi is None or signed(path):
        return None  # no images (a drawing of lines) or signed: never OCRed
    return Scan(pages=pages, dpi=round(lowest_dpi), colour_bits=lowest_bits)


def signed(path: Path) -> bool:
    """Whether a PDF carries a signature, or a field waiting for one.

    A signature's `/ByteRange` must lie in the file's own bytes (it names byte offsets of the file,
    so it can never sit in a compressed object stream): a plain scan of the bytes finds every
    signed PDF whatever its structure. An empty signature field can sit in an object stream, so the
    form's fields are also read (pypdf)."""
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if b"/ByteRange" in tail + chunk:
                return True
            tail = chunk[-16:]
    from pypdf import PdfReader

    with open(path, "rb") as f:
        reader = PdfReader(f)
        fields = reader.get_fields() or {}
        return any(str(value.get("/FT")) == "/Sig" for value in fields.values())
