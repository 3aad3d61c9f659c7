"""The one `Settings` object of hoso: the kernel's and every domain's settings composed, plus the flows' own.

Each domain declares its fields beside its code and type-hints its own class (`SigningSettings`, ...);
the composition lives here because the kernel may not import the domains. Every class extends
`ArchiveSettings`, so the HOSO_ prefix and the kernel's fields are declared once, and attribute access
stays flat (`settings.tsa_url`, `settings.search_engine`). The app factory, the CLI, the flows and the
tests create this class; a domain function accepts it wherever it asks for its own.
"""

from __future__ import annotations

from pydantic import Field

from archive.settings import GIB
from retention.settings import RetentionSettings
from search.settings import SearchSettings
from signing.settings import SigningSettings


class Settings(SigningSettings, RetentionSettings, SearchSettings):
    # Evidence packages (flows/evidence/): what one request may ask the archive to build.
    evidence_max_bytes: int = Field(default=20 * GIB, gt=0, description="Largest evidence package")
    evidence_max_records: int = Field(default=5000, gt=0, description="Most records in one evidence package")
    # Renditions (flows/renditions/): LibreOffice's time limit, and how many documents share one office.
    rendition_seconds: float = Field(
        default=120, gt=0, le=3600, description="Time limit of one Word/Excel to PDF conversion"
    )
    rendition_worker: bool = Field(default=True, description="Make PDF renditions of Word/Excel uploads")
    rendition_batch: int = Field(default=8, ge=1, le=64, description="Documents converted by one LibreOffice")
    # A recording's poster and streaming copy (flows/renditions/recording.py): ffmpeg's limit is
    # proportional to the recording's length. Measured here, the copy takes ~0.1 s per second of
    # 640×360 video on one core; 1080p phone video ~0.5 s: 3 s per second leaves room on a loaded server.
    video_seconds_per_second: float = Field(
        default=3.0, ge=0, le=100, description="ffmpeg's time limit per second of recording"
    )
    video_min_seconds: float = Field(default=60, gt=0, le=86400, description="ffmpeg's shortest time limit")
    # Scans and photos → PDF/A with a text layer (flows/renditions/ocr.py): the limit grows with the
    # pages. Measured here, OCRmyPDF takes 1-2 s a page of a 300 dpi A4 scan on 2 cores, plus ~3 s
    # to start and write PDF/A: 30 s a page leaves room on a loaded server.
    ocr_seconds_per_page: float = Field(default=30.0, ge=0, le=3600, description="OCR time limit per page")
    ocr_min_seconds: float = Field(default=120, gt=0, le=86400, description="OCR's shortest time limit")
