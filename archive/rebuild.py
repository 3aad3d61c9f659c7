"""Rebuild the SQL metadata from the bucket's sidecars: the way back after losing the database.

Each sidecar carries the record as it stood at that version; the newest one of a record wins.
Only sealed sidecars count (`archive.sidecar`): one without its seal was written by a transaction
that never committed, and its record never existed. (Until an archive from before seals has had
every old sidecar sealed — its worker does that once — all sidecars are taken, and the report says
so.)
Schools come back from the sidecars; people come back as disabled accounts without a password
(an administrator re-enables them), since no secret is ever written to the bucket. The audit log
cannot be rebuilt: the restored archive starts a new chain whose first events say so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import audit, sidecar
from archive.db import write_transaction
from archive.exceptions import Conflict
from archive.models import Blob, Person, Record, RecordType, School, Version
from archive.storage import ObjectMissing, ObjectStore, blob_key


@dataclass
class RebuildReport:
    records: int = 0
    versions: int = 0
    schools: int = 0
    people: int = 0
    problems: list[str] = field(default_factory=list)
    phantoms: list[str] = field(default_factory=list)  # sidecars of transactions that never committed
    unsealed_archive: bool = False  # written before seals and not yet sealed: every sidecar taken


def _person(session: Session, cache: dict[str, Person], info: dict[str, Any], report: RebuildReport) -> Person:
    username = info["username"]
    if username not in cache:
        person = session.scalar(select(Person).where(Person.username == username))
        if person is None:
            person = Person(username=username, full_name=info["full_name"], active=False, password_hash=None)
            session.add(person)
            session.flush()
            report.people += 1
        cache[username] = person
    return cache[username]


def _school(session: Session, cache: dict[str, School], info: dict[str, Any], report: RebuildReport) -> School:
    code = info["code"]
    if code not in cache:
        school = session.scalar(select(School).where(School.code == code))
        if school is None:
            school = School(code=code, name=info["name"], district=info.get("district"), province=info.get("province"))
            session.add(school)
            session.flush()
            report.schools += 1
        cache[code] = school
    return cache[code]


def rebuild(session: Session, store: ObjectStore, progress: Callable[[int, int], None] | None = None) -> RebuildReport:
    if session.scalar(select(func.count()).select_from(Record)):
        raise Conflict(
            "Cơ sở dữ liệu đã có tài liệu; rebuild-db chỉ chạy trên cơ sở dữ liệu trống.",
            "The database already holds records; rebuild-db only runs on an empty database.",
        )
    report = RebuildReport()
    by_record = _read_sidecars(store, report)
    types = {t.code: t for t in session.scalars(select(RecordType))}
    schools: dict[str, School] = {}
    people: dict[str, Person] = {}
    ordered = sorted(by_record.values(), key=lambda bodies: min(b["record"]["created_at"] for b in bodies))
    for done, bodies in enumerate(ordered, start=1):
        bodies.sort(key=lambda b: b["version"]["number"])
        latest = bodies[-1]["record"]
        record_type = types.get(latest["record_type"])
        if record_type is None:
            report.problems.append(f"record {latest['id']}: unknown record type {latest['record_type']!r}")
            continue
        missing = [b["version"]["sha256"] for b in bodies if not _blob_present(store, b["version"])]
        if missing:
            report.problems.append(f"record {latest['id']}: blobs missing or wrong size: {', '.join(missing)}")
            continue
        with write_transaction(session):
            _restore(session, bodies, record_type, schools, people, report)
        report.records += 1
        if progress:
            progress(done, len(ordered))
    return report


def _read_sidecars(store: ObjectStore, report: RebuildReport) -> dict[str, list[dict[str, Any]]]:
    """Every readable sidecar, by record (only sealed ones once the archive seals them all)."""
    by_record: dict[str, list[dict[str, Any]]] = defaultdict(list)
    listed = list(store.list("records/"))
    sealed = {k for k in listed if k.endswith(sidecar.SEAL_SUFFIX)}
    keys = [k for k in listed if k.endswith(".json")]
    if sidecar.is_present(store, sidecar.ALL_SEALED):
        report.phantoms = [k for k in keys if sidecar.seal_key(k) not in sealed]
        keys = [k for k in keys if sidecar.seal_key(k) in sealed]
    else:
        report.unsealed_archive = bool(keys)
    for key in keys:
        try:
            body = sidecar.read(store, key)
        except (ValueError, KeyError) as exc:
            report.problems.append(f"{key}: unreadable sidecar ({exc})")
            continue
        body["_key"] = key
        by_record[body["record"]["id"]].append(body)
    return by_record


def _restore(
    session: Session,
    bodies: list[dict[str, Any]],
    record_type: RecordType,
    schools: dict[str, School],
    people: dict[str, Person],
    report: RebuildReport,
) -> None:
    """One record and its versions (in number order) from their sidecars, and its audit event."""
    latest = bodies[-1]["record"]
    school = _school(session, schools, latest["school"], report)
    author = _person(session, people, latest["author"], report)
    record = Record(
        id=latest["id"],
        school_id=school.id,
        record_type_id=record_type.id,
        dossier_id=None,
        author_id=author.id,
        title=latest["title"],
        subject=latest["subject"],
        grade=latest["grade"],
        class_name=latest["class_name"],
        school_year=latest["school_year"],
        semester=latest["semester"],
        month=latest["month"],
        status=latest["status"],
        doc_metadata=latest["doc_metadata"] or {},
        current_version=bodies[-1]["version"]["number"],
        created_at=datetime.fromisoformat(latest["created_at"]),
        updated_at=datetime.fromisoformat(latest["updated_at"]),
    )
    session.add(record)
    for body in bodies:
        v = body["version"]
        if session.get(Blob, v["sha256"]) is None:
            session.add(
                Blob(
                    sha256=v["sha256"], size=v["size"], media_type=v["media_type"], version_id=v.get("blob_version_id")
                )
            )
            session.flush()
        session.add(
            Version(
                record_id=record.id,
                number=v["number"],
                blob_sha256=v["sha256"],
                size=v["size"],
                media_type=v["media_type"],
                original_filename=v["original_filename"],
                kind=v["kind"],
                sidecar_key=body["_key"],
                created_by_id=_person(session, people, v["created_by"], report).id,
                created_at=datetime.fromisoformat(v["created_at"]),
                derived_from=v.get("derived_from"),
                format_puid=v.get("format_puid"),
                format_name=v.get("format_name"),
            )
        )
        report.versions += 1
    audit.append(
        session,
        actor=None,
        action="record.restored",
        object_type="record",
        object_id=record.id,
        school_id=school.id,
        record_id=record.id,
        details={"from": "sidecars", "versions": len(bodies)},
    )


def _blob_present(store: ObjectStore, version: dict[str, Any]) -> bool:
    try:
        return store.head(blob_key(version["sha256"]), version.get("blob_version_id")).size == int(version["size"])
    except ObjectMissing:
        return False
