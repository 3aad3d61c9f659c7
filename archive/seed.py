"""Load the record-type schedule (archive/data/record_types.yaml) into the database.

Seeding only inserts types that are missing: a row the archivist has edited is never reset.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit
from archive.db import write_transaction
from archive.models import RecordType


def schedule_rows() -> list[dict[str, Any]]:
    text = resources.files("archive").joinpath("data/record_types.yaml").read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = yaml.safe_load(text)["types"]
    return rows


def seed_record_types(session: Session) -> list[str]:
    """Insert the missing record types; returns the codes inserted."""
    existing = set(session.scalars(select(RecordType.code)))
    missing = [row for row in schedule_rows() if row["code"] not in existing]
    if not missing:
        return []
    with write_transaction(session):
        for row in missing:
            permanent = bool(row.get("retention_permanent", False))
            session.add(
                RecordType(
                    code=row["code"],
                    name_vi=row["name_vi"],
                    name_en=row["name_en"],
                    retention_permanent=permanent,
                    retention_years=None if permanent else int(row["retention_years"]),
                    retention_basis=row["retention_basis"],
                    retention_confirmed=False,
                    signing_cadence=row.get("signing_cadence"),
                    signer_roles=list(row.get("signer_roles") or []),
                    allowed_media_types=list(row["media"]),
                    legal_basis=row.get("legal_basis", ""),
                    dossier_heading=row.get("dossier_heading"),
                    dossier_group_by=list(row.get("dossier_group_by") or []),
                    scan_policy=str(row.get("scan_policy", "warn")),
                    scan_min_dpi=int(row.get("scan_min_dpi", 200)),
                )
            )
            audit.append(
                session, actor=None, action="record_type.seeded", object_type="record_type", object_id=row["code"]
            )
    return [row["code"] for row in missing]
