"""A Word or Excel plan, or a scan or phone photo of a paper plan, signed through its PDF rendition
(archive/renditions.py, archive/scans.py).

The principal reviews the PDF hoso made of the DOCX, or the PDF/A with a text layer made of the
scan; on approval that PDF gets the visible PAdES stamp like any PDF plan (a signed version derived
from the rendition), and the original itself keeps a detached CAdES signature (.p7s), so both files
the principal's decision covers are signed, and the approval record lists both hashes. An original
whose rendition failed or is not made yet is signed the old way: a scanned PDF stamped as it is, an
image or a DOCX detached only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import ingest, renditions
from archive.models import Version, VersionKind
from signing.models import ApprovalItem


def with_renditions(session: Session, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Each planned row (item id, title, sha256, size, media type) with the PDF rendition of its
    version, where it needs one and it was made."""
    out: list[tuple[Any, ...]] = []
    for row in rows:
        pdf = None
        if row[4] in renditions.REVIEWED_AS_PDF:
            item = session.get(ApprovalItem, row[0])
            assert item is not None
            pdf = renditions.pdf_of(session, item.record_id, item.version_number)
        out.append((*row, pdf))
    return out


def signed_sha256(session: Session, item: ApprovalItem) -> str | None:
    """The SHA-256 of the PDF rendition stamped for this item, read from what was stored (so a
    resumed run's approval record says the same); None when the item's own file was signed."""
    if item.signed_version is None:
        return None

    def version(number: int) -> Version | None:
        return session.scalar(select(Version).where(Version.record_id == item.record_id, Version.number == number))

    signed = version(item.signed_version)
    if signed is None or signed.derived_from is None or signed.derived_from == item.version_number:
        return None
    base = version(signed.derived_from)
    if base is None or base.kind != VersionKind.derived or base.derived_from != item.version_number:
        return None
    return base.blob_sha256


def audit_details(original: int, also: tuple[int, ingest.Received] | None) -> dict[str, Any]:
    """Audit details of a stamped rendition: the original it renders and that original's .p7s."""
    return {"original_version": original, "detached_sha256": also[1].sha256} if also else {}
