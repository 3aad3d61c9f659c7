"""The JSON written beside every version, so the SQL database can be rebuilt from the bucket alone.

Each version's sidecar holds the record as it stood when that version was made, the version's
own facts, and who the school, type and people were, by their stable codes and usernames.
"""

from __future__ import annotations

import io
import json
from typing import Any

from archive.models import Record, Version
from archive.storage import ObjectExists, ObjectStore, sidecar_key

FORMAT = "hoso.sidecar/1"


def build(record: Record, version: Version) -> dict[str, Any]:
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


def read(store: ObjectStore, key: str) -> dict[str, Any]:
    body = json.loads(b"".join(store.get(key)))
    if body.get("format") != FORMAT:
        raise ValueError(f"{key}: not a hoso sidecar")
    return body
