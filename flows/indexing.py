"""What the index says about a record, joined from the kernel, signing and retention, and the worker
that keeps it fresh.

A flow: the search package knows engines and text, the kernel knows records, signing knows
signatures, retention knows each record's retention state (the `retention` facet); only here are
they put together (DESIGN §1: siblings never import each other). `flows.worker` drains the
`index_record` jobs with it.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import mediatype
from archive.models import Blob, Record, Version
from archive.storage import ObjectStore, blob_key
from flows.settings import Settings
from retention.models import RecordRetention, RetentionState
from search import analyzer, extract
from search.documents import IndexDoc
from signing.models import Signature

log = logging.getLogger(__name__)
VIDEO = {mediatype.MP4, mediatype.MOV, mediatype.WEBM}
# What teachers and inspectors call a record type when it is not its official name (DESIGN §7).
EVERYDAY_NAMES = {
    "gradebook": "sổ điểm",
    "lesson_plan": "giáo án",
    "lesson_recording": "video bài giảng tiết dạy",
    "online_teaching_evidence": "dạy học trực tuyến minh chứng",
    "approval_record": "biên bản duyệt",
}
SHEETS = {mediatype.XLSX, mediatype.CSV}


class TextCache:
    """Extracted text by blob SHA-256: a record reindexed for a status change is not re-read.

    Bounded by characters, not entries: a text can be 200,000 characters (`extract.MAX_CHARS`).
    """

    def __init__(self, max_chars: int = 8_000_000) -> None:
        self.max_chars = max_chars
        self._chars = 0
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str) -> str | None:
        with self._lock:
            if sha256 in self._items:
                self._items.move_to_end(sha256)
                return self._items[sha256]
            return None

    def put(self, sha256: str, text: str) -> None:
        with self._lock:
            self._chars -= len(self._items.pop(sha256, ""))
            self._items[sha256] = text
            self._chars += len(text)
            while self._chars > self.max_chars and len(self._items) > 1:
                self._chars -= len(self._items.popitem(last=False)[1])


class Describer:
    def __init__(self, store: ObjectStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.cache = TextCache()

    def __call__(self, session: Session, ids: Sequence[str]) -> dict[str, IndexDoc | None]:
        records = {r.id: r for r in session.scalars(select(Record).where(Record.id.in_(list(ids))))}
        versions = {
            (v.record_id, v.number): v for v in session.scalars(select(Version).where(Version.record_id.in_(list(ids))))
        }
        signed = set(session.scalars(select(Signature.record_id).where(Signature.record_id.in_(list(ids)))))
        # a record not yet given its retention (the worker computes it after indexing) is active
        kept = select(RecordRetention.record_id, RecordRetention.state).where(RecordRetention.record_id.in_(list(ids)))
        retention: dict[str, str] = {row.record_id: row.state for row in session.execute(kept)}
        # the version of each blob hoso wrote: the text indexed is the text stored, whatever lies over it
        pinned: dict[str, str | None] = {
            sha: vid
            for sha, vid in session.execute(
                select(Blob.sha256, Blob.version_id).where(
                    Blob.sha256.in_({v.blob_sha256 for v in versions.values()}), Blob.version_id.is_not(None)
                )
            )
        }
        out: dict[str, IndexDoc | None] = {}
        for record_id in ids:
            record = records.get(record_id)
            version = versions.get((record_id, record.current_version)) if record else None
            pin = pinned.get(version.blob_sha256) if version else None
            state = retention.get(record_id, RetentionState.active)
            out[record_id] = self.document(record, version, record_id in signed, pin, state) if record else None
        return out

    def document(
        self,
        record: Record,
        version: Version | None,
        signed: bool,
        version_id: str | None = None,
        retention: str = RetentionState.active,
    ) -> IndexDoc:
        text, seconds = "", None
        media = ""
        if version is not None:
            media = "video" if version.media_type in VIDEO else "sheet" if version.media_type in SHEETS else "document"
            text, seconds = self._content(version, version_id)
        meta = [
            record.subject or "",
            record.author.full_name,
            record.school.name,
            record.record_type.name_vi,
            EVERYDAY_NAMES.get(record.record_type.code, ""),
            record.class_name or "",
            f"lớp {record.grade}" if record.grade else "",
            f"tháng {record.month}" if record.month else "",
            f"năm học {record.school_year}",
            version.original_filename if version else "",
            f"thời lượng {int(seconds // 60)} phút {round(seconds % 60)} giây" if seconds else "",
            *(str(v) for v in (record.doc_metadata or {}).values() if isinstance(v, str | int)),
        ]
        return IndexDoc(
            id=record.id,
            title=analyzer.normalize(record.title),
            text=text,
            meta=analyzer.normalize(" ".join(m for m in meta if m)),
            created=int(record.created_at.timestamp()),
            school_code=record.school.code,
            record_type=record.record_type.code,
            school_year=record.school_year,
            month=str(record.month or ""),
            subject=analyzer.normalize(record.subject or ""),
            grade=str(record.grade or ""),
            class_name=record.class_name or "",
            teacher=record.author.username,
            status=record.status,
            signed="yes" if signed else "no",
            retention=retention,  # active | review | proposed | transferred | destroyed (retention/models.py)
            media=media,
        )

    def _content(self, version: Version, version_id: str | None = None) -> tuple[str, float | None]:
        """(text, seconds): text for documents, duration for recordings; both cached by blob."""
        is_video = version.media_type in VIDEO
        if not is_video and (version.media_type not in extract.READABLE or version.size > extract.MAX_BYTES):
            return "", None
        cached = self.cache.get(version.blob_sha256)
        if cached is not None:
            return ("", float(cached) if cached else None) if is_video else (cached, None)
        key = blob_key(version.blob_sha256)
        # a recording is probed in place when the store is a folder (no 2 GB copy); documents are spooled
        # under their own extension (openpyxl goes by the file name)
        local = getattr(self.store, "local_path", lambda _key: None)(key) if is_video else None
        path = local or self._spool(version.blob_sha256, mediatype.EXTENSIONS.get(version.media_type, ""), version_id)
        try:
            if is_video:
                seconds = extract.video_seconds(path)
                self.cache.put(version.blob_sha256, str(seconds) if seconds else "")
                return "", seconds
            text = extract.extract_text(path, version.media_type)
        finally:
            if local is None:
                path.unlink(missing_ok=True)
        self.cache.put(version.blob_sha256, text)
        return text, None

    def _spool(self, sha256: str, suffix: str, version_id: str | None = None) -> Path:
        """The blob in a temporary file named like its type (openpyxl goes by the file name)."""
        with tempfile.NamedTemporaryFile(dir=self.settings.tmp_dir, suffix=f".index{suffix}", delete=False) as out:
            for chunk in self.store.get(blob_key(sha256), version_id=version_id):
                out.write(chunk)
        return Path(out.name)
