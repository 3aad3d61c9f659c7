"""Format identification of every stored version: a PRONOM identifier (PUID) where one exists.

An archive that must keep records readable for seventy years has to know what each file *is* in a
registry's terms, not only its MIME type: PRONOM (The National Archives, UK) names a DOCX
`fmt/412`, a PDF 1.7 `fmt/276`, and preservation planning works on those names. The PUID goes into
every package's PREMIS (`archive/premis.py`, `formatRegistry`).

The tool is `opf-fido` (Open Preservation Foundation, Apache 2.0, pure Python, PRONOM v109
signatures shipped in the wheel): measured here, loading its signatures takes 0.14 s once per
process and one identification 8-15 ms (it reads the file's first and last 128 KiB, and a ZIP's
directory for OOXML), so it runs inline at ingest, on the spooled upload, before the blob is put.
Siegfried (Go) and DROID (Java) would add a runtime; libmagic gives MIME types, not PUIDs.

fido keeps per-file state on its instance, so one instance serves the process behind a lock. An
identification that fails (fido writes to stderr and returns nothing) stores no PUID: it never
refuses an upload — what hoso accepts is decided by `archive/mediatype.py`.

fido tries every one of PRONOM's ~2,250 formats on every file, many as a regex searched over 128 KiB:
measured at issue #17's ingest bench, 64 ms of a 136 ms upload, behind that process-wide lock. hoso
has already sniffed the file's media type (and refused what it does not accept), so only the formats
registered under that MIME type can be the answer: a PDF is matched against PRONOM's 30 PDF formats
(PDF 1.0–2.0, PDF/A, PDF/X, PDF/UA…), a DOCX or XLSX against its own and ZIP's (fido identifies an
OOXML file by opening the ZIP container). A type hoso does not know is matched against all of them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive import mediatype

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Format:
    puid: str  # e.g. "fmt/412"
    name: str  # PRONOM's format name, e.g. "Microsoft Word for Windows"


# the MIME types (as PRONOM records them) whose formats can match a file of each sniffed media type
CANDIDATES: dict[str, frozenset[str]] = {
    mediatype.PDF: frozenset({mediatype.PDF}),
    mediatype.DOCX: frozenset({mediatype.DOCX, "application/zip"}),
    mediatype.XLSX: frozenset({mediatype.XLSX, "application/zip"}),
    mediatype.MP4: frozenset({mediatype.MP4, "application/mp4"}),
    mediatype.MOV: frozenset({mediatype.MOV}),
    mediatype.WEBM: frozenset({mediatype.WEBM}),
    mediatype.PNG: frozenset({mediatype.PNG}),
    mediatype.JPEG: frozenset({mediatype.JPEG}),
    "image/tiff": frozenset({"image/tiff"}),
}


class _Fido:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fido: Any = None
        self.found: list[Format] = []
        self.release = ""
        self.every: list[Any] = []  # every PRONOM format, as fido loaded them
        self.subsets: dict[str, list[Any]] = {}

    def _formats(self, media_type: str | None) -> list[Any]:
        wanted = CANDIDATES.get(media_type or "")
        if wanted is None:
            return self.every
        if media_type not in self.subsets:
            self.subsets[media_type or ""] = [
                f for f in self.every if wanted & {m.text for m in f.findall("mime") if m.text}
            ]
        return self.subsets[media_type or ""]

    def _load(self) -> Any:
        """fido with the PRONOM release its wheel ships (named in its conf/versions.xml: fido's own
        default file list names an older release it no longer ships, and fails to load)."""
        from fido.fido import Fido
        from fido.versions import get_local_versions

        versions = get_local_versions()
        self.release = str(versions.pronom_version)
        files = [versions.pronom_signature, versions.fido_extension_signature]
        return Fido(
            quiet=True,
            handle_matches=self._matches,
            format_files=files,
            containersignature_file=versions.pronom_container_signature,
        )

    def _matches(self, _name: str, matches: list[tuple[Any, Any]], _delta: float, _kind: str = "") -> None:
        for fmt, _sig in matches:
            puid, name = fmt.find("puid"), fmt.find("name")
            if puid is not None and puid.text:
                self.found.append(Format(puid=puid.text, name=(name.text if name is not None else "") or ""))

    def identify(self, path: Path, media_type: str | None) -> Format | None:
        with self.lock:
            self.found = []
            try:
                if self.fido is None:
                    self.fido = self._load()
                    self.every = list(self.fido.formats)
                self.fido.formats = self._formats(media_type)  # what match_formats walks
                self.fido.identify_file(str(path), extension=False)
            except Exception:  # a file fido cannot parse is simply not identified
                log.warning("fido could not identify %s", path, exc_info=True)
                return None
            return self.found[0] if self.found else None


_FIDO = _Fido()


def identify(path: Path, media_type: str | None = None) -> Format | None:
    """The file's PRONOM format (the first of fido's matches, its most specific), or None; `media_type`,
    hoso's own sniffing of the file, narrows the formats tried to those registered under it."""
    return _FIDO.identify(path, media_type)
