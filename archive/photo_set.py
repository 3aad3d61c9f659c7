"""Several phone photos of one paper document, made into the one PDF that is its original.

A teacher photographs a four-page paper plan page by page; the archive keeps one document of four
pages, in the order she chose, not four records. img2pdf puts each photo on its own page without
re-encoding it: a JPEG's bytes go into the PDF as they are (DCTDecode), a PNG's or TIFF's pixels
unchanged (Flate or CCITT), so the photos stay what they were, byte for byte for JPEG (the tests
take them back out of the PDF and compare hashes), and each photo's name, size and SHA-256 are
kept in the record's audit event. Why img2pdf rather than Pillow's PDF writer: Pillow decodes
and re-compresses every image (a JPEG loses quality again), img2pdf never does; it is also what
OCRmyPDF uses for images, from the same Debian package (deps/debian-run.txt).

Each page is A4 (the paper size of school records, Nghị định 30/2020 Phụ lục I), turned to the
photo's orientation, the photo fitted into it: so the dpi that `archive.scan_quality` reads from
the PDF is the photo's pixels over the paper's width, the resolution TT 05/2025 Điều 8 asks about
(a 3024-pixel-wide phone photo of an A4 page is 366 dpi; a 1200-pixel one is 145 dpi, and says
so). The PDF then goes through an upload's checks like any scan: no text, so OCR makes its
PDF/A-2b with a Vietnamese text layer (flows/renditions/ocr.py).

A photo that is not a JPEG, PNG or TIFF, or that cannot be read, is refused naming it and its
place in the set, before anything is stored.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from archive import mediatype, scan_quality
from archive.exceptions import InvalidInput, ToolMissing, UnsupportedMediaType
from archive.schemas import check_filename
from archive.spool import Received, Spool, spool_stream, too_large

log = logging.getLogger(__name__)

MAX_PHOTOS = 60  # a long paper register photographed page by page; more goes as a scanned PDF
MAX_SET_BYTES = 300 * 1024 * 1024  # img2pdf holds each photo's bytes in its own memory: 60 × 5 MB phone photos
PAGE_SIZE = "A4"
SECONDS = 120  # img2pdf copies bytes, it never decodes a JPEG: sixty photos take about a second
ALPHA_MODES = frozenset({"RGBA", "LA", "PA"})


def combine(photos: list[tuple[str, Received]], tmp_dir: Path, limit: int) -> tuple[Spool, list[dict[str, object]]]:
    """One PDF of the photos, in their order, as a spool the caller finishes and discards; and what
    each photo was (its name, size, SHA-256), for the record's audit event."""
    if not 2 <= len(photos) <= MAX_PHOTOS:
        raise InvalidInput(
            f"Ghép từ 2 đến {MAX_PHOTOS} ảnh thành một tài liệu (đã gửi {len(photos)}).",
            f"Combine 2 to {MAX_PHOTOS} photos into one document ({len(photos)} were sent).",
            field="file",
        )
    total = sum(received.size for _, received in photos)
    if total > min(limit, MAX_SET_BYTES):
        raise too_large(min(limit, MAX_SET_BYTES))
    kept: list[dict[str, object]] = []
    for place, (filename, received) in enumerate(photos, start=1):
        name = _checked(place, filename, received)
        kept.append({"filename": name, "size": received.size, "sha256": received.sha256})
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="photos-") as folder:
        sources = [flattened(received.path, Path(folder), place) for place, (_, received) in enumerate(photos)]
        out = Path(folder) / "photos.pdf"
        _img2pdf(sources, out)
        with open(out, "rb") as made:
            return spool_stream(made, tmp_dir, limit), kept


def filename_for(photos: list[tuple[str, Received]]) -> str:
    """The document's name: the first photo's, as a PDF ("trang-1.jpg" → "trang-1.pdf")."""
    first = photos[0][0].rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = first.rsplit(".", 1)[0] if "." in first else first
    return f"{stem or 'anh-chup'}.pdf"


def _checked(place: int, filename: str, received: Received) -> str:
    try:
        name = check_filename(filename)
    except ValueError as exc:
        raise InvalidInput(
            f"Tên ảnh thứ {place} không hợp lệ: {exc}", f"Photo {place}'s file name is invalid: {exc}", field="file"
        ) from None
    if received.media_type not in scan_quality.IMAGES:
        found = mediatype.describe(received.media_type) if received.media_type != mediatype.UNKNOWN else None
        raise UnsupportedMediaType(
            f"Ảnh thứ {place} ({name!r}) là {found or 'tệp không nhận dạng được'}. Chỉ gửi nhiều tệp cùng lúc khi "
            "chúng là ảnh JPEG, PNG hoặc TIFF các trang của một tài liệu; tệp khác gửi mỗi lần một tệp.",
            f"Photo {place} ({name!r}) is {found or 'unrecognised'}. Several files go together only when they are "
            "JPEG, PNG or TIFF photos of one document's pages; any other file goes one per request.",
            media_type=received.media_type,
        )
    scan_quality.require_readable_image(received.path, name)
    return name


def flattened(source: Path, folder: Path, place: int = 0) -> Path:
    """`source`, or a copy in `folder` on white without its alpha channel (img2pdf refuses transparency:
    PDF/A-2 allows it, but a photo of paper has none worth keeping). The original stays as it was."""
    from PIL import Image

    with Image.open(source) as image:
        transparent = image.mode in ALPHA_MODES or (image.mode == "P" and "transparency" in image.info)
        if not transparent:
            return source
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        out = folder / f"{source.stem}-{place}-flat.png"
        dpi = image.info.get("dpi")
        flat.save(out, format="PNG", **({"dpi": dpi} if dpi else {}))
    return out


def _img2pdf(sources: list[Path], out: Path) -> None:
    found = shutil.which("img2pdf")
    if found is None:
        raise ToolMissing(
            "Máy chủ chưa cài img2pdf nên chưa ghép được ảnh thành tài liệu (quản trị: chạy make run).",
            "img2pdf is not installed on the server, so photos cannot be combined (administrator: run make run).",
        )
    command = [found, "--pagesize", PAGE_SIZE, "--fit", "into", "--auto-orient", "-o", str(out), *map(str, sources)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=SECONDS, check=False)
    except subprocess.TimeoutExpired:
        done = None
    if done is None or done.returncode != 0 or not out.is_file():
        log.warning("img2pdf failed: %s", done.stderr[-2000:] if done is not None else "timed out")
        raise InvalidInput(
            "Không ghép được các ảnh thành một tài liệu (có ảnh bị hỏng). Hãy chụp lại rồi tải lên lần nữa.",
            "The photos could not be combined into one document (one is damaged). Take them again and upload.",
            field="file",
        )
