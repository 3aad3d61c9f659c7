"""The JSON written beside every version, so the SQL database can be rebuilt from the bucket alone.

Each version's sidecar holds the record as it stood when that version was made, the version's
own facts, and who the school, type and people were, by their stable codes and usernames.

A sidecar is written before its transaction commits ("put first, ask later"), so a process killed
between the two leaves a sidecar for a record that never existed: measured, 8 phantom records of
504 came back from `hoso rebuild-db` after 43 SIGKILLs. So each committed sidecar gets a seal
beside it (`v<N>.committed`, empty), written right after the commit; `rebuild-db` restores only
sealed sidecars. A crash between commit and seal is repaired while the database still knows: the
worker seals the last day's versions at every start (`seal_missing`), and once, in the
background, every version written before seals existed (`seal_archive`).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Record, Version
from archive.storage import ObjectExists, ObjectMissing, ObjectStore, sidecar_key

FORMAT = "hoso.sidecar/1"
SEAL_SUFFIX = ".committed"
ALL_SEALED = "meta/sidecars-sealed"  # every sidecar older than seals has been sealed (`seal_archive`)


def build(record: Record, version: Version, blob_version_id: str | None = None) -> dict[str, Any]:
    """The sidecar body; `blob_version_id` (the S3 version of the blob) lets a rebuilt database
    keep reading the version hoso wrote."""
    return {
        "format": FORMAT,
        "record": {
            "id": record.id,
            "school": {
                "code": record.school.code,
                "name": record.school.name,
                "district": record.school.district,
                "province": record.school.province,
            },
            "record_type": record.record_type.code,
            "dossier_id": record.dossier_id,
            "author": {"username": record.author.username, "full_name": record.author.full_name},
            "title": record.title,
            "subject": record.subject,
            "grade": record.grade,
            "class_name": record.class_name,
            "school_year": record.school_year,
            "semester": record.semester,
            "month": record.month,
            "status": record.status,
            "doc_metadata": record.doc_metadata,
            "created_at": record.created_at.isoformat(),
            "updated_at": record.updated_at.isoformat(),
        },
        "version": {
            "number": version.number,
            "sha256": version.blob_sha256,
            "size": version.size,
            "media_type": version.media_type,
            "original_filename": version.original_filename,
            "kind": version.kind,
            "created_by": {"username": version.created_by.username, "full_name": version.created_by.full_name},
            "created_at": version.created_at.isoformat(),
            **({"blob_version_id": blob_version_id} if blob_version_id else {}),
            # a rendition's source, and the PRONOM format: kept, so a rebuilt database knows them too
            **{k: v for k in ("derived_from", "format_puid", "format_name") if (v := getattr(version, k)) is not None},
        },
    }


def key_for(record: Record, number: int) -> str:
    return sidecar_key(record.school.code, record.school_year, record.id, number)


def write(store: ObjectStore, key: str, body: dict[str, Any]) -> None:
    """Write a sidecar; one left at this key by a crashed, never-committed attempt is replaced."""
    data = json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True).encode()
    try:
        store.put(key, io.BytesIO(data), len(data), content_type="application/json")
    except ObjectExists:
        store.put(key, io.BytesIO(data), len(data), content_type="application/json", replace=True)


def seal_key(key: str) -> str:
    return key.removesuffix(".json") + SEAL_SUFFIX


def seal(store: ObjectStore, keys: Sequence[str]) -> None:
    """Mark these sidecars' transaction committed (an existing seal is already right)."""

    if len(keys) <= 1:
        for key in keys:
            _mark(store, seal_key(key))
        return
    with ThreadPoolExecutor(max_workers=min(8, len(keys))) as pool:
        for future in [pool.submit(_mark, store, seal_key(key)) for key in keys]:
            future.result()


def _mark(store: ObjectStore, key: str) -> None:
    """An empty object whose presence is the fact; one already there says the same."""
    with contextlib.suppress(ObjectExists):
        store.put(key, io.BytesIO(b""), 0, content_type="application/octet-stream")


def is_sealed(store: ObjectStore, key: str) -> bool:
    return is_present(store, seal_key(key))


def seal_missing(session: Session, store: ObjectStore, since: datetime | None = None, batch: int = 500) -> int:
    """Seal committed versions (created since `since`, or all) whose seal a crash kept from being
    written; returns how many were missing. The database is the truth here: a row means committed."""
    query = select(Version.sidecar_key).where(Version.sidecar_key.is_not(None)).order_by(Version.created_at)
    if since is not None:
        query = query.where(Version.created_at >= since)
    keys = [k for k in session.scalars(query) if k]
    session.commit()
    missing = 0
    for start in range(0, len(keys), batch):
        chunk = [k for k in keys[start : start + batch] if not is_sealed(store, k)]
        seal(store, chunk)
        missing += len(chunk)
    return missing


def seal_archive(session: Session, store: ObjectStore) -> int:
    """Once per archive: seal every committed version (those written before seals existed), then
    say so, from which point `rebuild-db` trusts seals alone. Returns how many were sealed now."""
    if is_present(store, ALL_SEALED):
        return 0
    sealed = seal_missing(session, store)
    _mark(store, ALL_SEALED)
    return sealed


def is_present(store: ObjectStore, key: str) -> bool:
    try:
        store.head(key)
    except ObjectMissing:
        return False
    return True


def read(store: ObjectStore, key: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(b"".join(store.get(key)))
    if body.get("format") != FORMAT:
        raise ValueError(f"{key}: not a hoso sidecar")
    return body
