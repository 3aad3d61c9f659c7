"""Ingest on both stores: dedupe, versions, sidecars, and nothing half-stored when a step fails."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive import audit, calendar, ingest, rebuild, seed, sidecar
from archive.db import make_engine, make_sessionmaker
from archive.models import Blob, Record, Version
from archive.schemas import RecordCreate, VersionMetadataUpdate
from archive.spool import spool_stream
from archive.storage import ObjectStore, make_store
from flows.settings import Settings
from migrations import upgrade
from tests import factories
from tests.factories import World


def receive(settings: Settings, data: bytes):  # type: ignore[no-untyped-def]
    return spool_stream(io.BytesIO(data), settings.tmp_dir, settings.max_upload_bytes)


def new_record(session: Session, store: ObjectStore, settings: Settings, actor, data: bytes, **overrides) -> Record:  # type: ignore[no-untyped-def]
    prepared = ingest.prepare_record(session, actor, RecordCreate.model_validate(factories.meta(**overrides)))
    with receive(settings, data) as spool:
        return ingest.create_record(session, store, actor, prepared, spool.finish(), "kh.pdf")


def row_counts(session: Session) -> tuple[int, int, int]:
    session.commit()
    return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in (Record, Version, Blob))  # type: ignore[return-value]


def test_sidecar_describes_the_version(any_settings: Settings, session: Session, world: World) -> None:
    store = make_store(any_settings)
    record = new_record(session, store, any_settings, world.teacher, factories.pdf_bytes("x"))
    version = session.scalar(select(Version).where(Version.record_id == record.id))
    assert version is not None
    assert version.sidecar_key == f"records/THA/2025-2026/{record.id}/v1.json"
    body = json.loads(b"".join(store.get(version.sidecar_key)))
    assert body["record"]["title"] == record.title and body["record"]["school"]["code"] == "THA"
    assert body["version"]["sha256"] == version.blob_sha256 and body["version"]["created_by"]["username"] == "gv.lan"


@pytest.mark.parametrize(
    ("module", "name"),
    [(audit, "append"), (sidecar, "write")],
    ids=["failure after the sidecar", "failure writing the sidecar"],
)
def test_a_failure_inside_the_transaction_leaves_no_row_and_no_sidecar(
    settings: Settings, session: Session, world: World, monkeypatch: pytest.MonkeyPatch, module: object, name: str
) -> None:
    store = make_store(settings)

    def boom(*_a: object, **_k: object) -> None:
        raise OSError("simulated failure inside the transaction")

    monkeypatch.setattr(module, name, boom)
    with pytest.raises(OSError):
        new_record(session, store, settings, world.teacher, factories.pdf_bytes())
    assert row_counts(session) == (0, 0, 0)
    assert list(store.list("records/")) == []  # a sidecar written before the failure was taken back
    assert list(settings.tmp_dir.iterdir()) == []
    # the blob may stay as collectable garbage; no row points anywhere


def test_orphan_sidecar_from_a_crash_is_replaced_by_the_next_attempt(
    settings: Settings, session: Session, world: World
) -> None:
    store = make_store(settings)
    record = new_record(session, store, settings, world.teacher, factories.pdf_bytes("v1"))
    orphan = f"records/THA/2025-2026/{record.id}/v2.json"
    store.put(orphan, io.BytesIO(b'{"format": "crashed"}'), 21)  # as if the process died before commit
    with receive(settings, factories.pdf_bytes("v2")) as spool:
        version = ingest.add_version(session, store, world.teacher, record, spool.finish(), "v2.pdf")
    assert version.number == 2
    assert json.loads(b"".join(store.get(orphan)))["version"]["number"] == 2


def test_version_metadata_update(settings: Settings, session: Session, world: World) -> None:
    store = make_store(settings)
    record = new_record(session, store, settings, world.teacher, factories.pdf_bytes("v1"))
    with receive(settings, factories.pdf_bytes("v2")) as spool:
        ingest.add_version(
            session,
            store,
            world.teacher,
            record,
            spool.finish(),
            "v2.pdf",
            VersionMetadataUpdate(title="Đã sửa", month=11),
        )
    session.commit()
    refreshed = session.get(Record, record.id, populate_existing=True)
    assert refreshed is not None and (refreshed.title, refreshed.month, refreshed.current_version) == ("Đã sửa", 11, 2)


def _empty_database(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        seed.seed_record_types(s)
    return engine


def test_rebuild_db_restores_every_record_and_version(
    any_settings: Settings, session: Session, world: World, tmp_path: Path
) -> None:
    store = make_store(any_settings)
    first = new_record(session, store, any_settings, world.teacher, factories.pdf_bytes("a"), title="Bài 1")
    new_record(session, store, any_settings, world.other_teacher, factories.pdf_bytes("b"), school_code="THB")
    new_record(session, store, any_settings, world.clerk, factories.xlsx_bytes(), record_type="gradebook", month=None)
    with receive(any_settings, factories.pdf_bytes("a2")) as spool:
        ingest.add_version(session, store, world.teacher, first, spool.finish(), "a2.pdf")
    session.commit()
    before = {
        (r.id, r.title, r.school.code, r.author.username, r.current_version) for r in session.scalars(select(Record))
    }
    before_versions = {(v.record_id, v.number, v.blob_sha256, v.size) for v in session.scalars(select(Version))}

    engine = _empty_database(tmp_path)
    with make_sessionmaker(engine)() as fresh:
        report = rebuild.rebuild(fresh, store)
        assert report.problems == []
        assert (report.records, report.versions, report.schools) == (3, 4, 2)
        after = {
            (r.id, r.title, r.school.code, r.author.username, r.current_version) for r in fresh.scalars(select(Record))
        }
        after_versions = {(v.record_id, v.number, v.blob_sha256, v.size) for v in fresh.scalars(select(Version))}
        assert after == before and after_versions == before_versions
        assert audit.verify_chain(fresh).ok
        with pytest.raises(Exception, match="empty database"):
            rebuild.rebuild(fresh, store)
    engine.dispose()


def test_rebuild_reports_a_missing_blob(settings: Settings, session: Session, world: World, tmp_path: Path) -> None:
    store = make_store(settings)
    record = new_record(session, store, settings, world.teacher, factories.pdf_bytes("gone"))
    version = session.scalar(select(Version).where(Version.record_id == record.id))
    assert version is not None
    store.delete(f"blobs/sha256/{version.blob_sha256[:2]}/{version.blob_sha256[2:4]}/{version.blob_sha256}")
    engine = _empty_database(tmp_path)
    with make_sessionmaker(engine)() as fresh:
        report = rebuild.rebuild(fresh, store)
        assert report.records == 0 and "missing" in report.problems[0]
    engine.dispose()


def test_stored_blobs_verify_with_an_independent_sha256sum(settings: Settings, session: Session, world: World) -> None:
    """coreutils' sha256sum, not our code, confirms each content address matches the bytes on disk."""
    import subprocess

    from tests.conftest import require_tool

    tool = require_tool("sha256sum")
    store = make_store(settings)
    for i in range(3):
        new_record(session, store, settings, world.teacher, factories.pdf_bytes(f"doc {i}"), title=f"Bài {i}")
    keys = sorted(store.list("blobs/"))
    assert len(keys) == 3
    root = settings.data_dir / "objects"
    out = subprocess.run([tool, *keys], cwd=root, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        digest, path = line.split(maxsplit=1)
        assert path.endswith(digest), line


def test_rebuild_restores_exactly_the_committed_records(
    any_settings: Settings, session: Session, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction killed after its sidecar was written leaves a phantom that never comes back; a
    commit whose seal a crash kept from being written is sealed at the worker's start."""
    store = make_store(any_settings)
    kept = new_record(session, store, any_settings, world.teacher, factories.pdf_bytes("a"), title="Đã lưu")

    monkeypatch.setattr(ingest, "_remove_sidecar", lambda store, key: None)  # a killed process cleans nothing

    def dies_before_commit(record: Record) -> None:
        raise OSError("SIGKILL")

    prepared = ingest.prepare_record(session, world.teacher, RecordCreate.model_validate(factories.meta(title="Ma")))
    with receive(any_settings, factories.pdf_bytes("phantom")) as spool, pytest.raises(OSError):
        ingest.create_record(
            session, store, world.teacher, prepared, spool.finish(), "ma.pdf", within=dies_before_commit
        )
    session.rollback()
    phantom_keys = [k for k in store.list("records/") if k.endswith(".json") and kept.id not in k]
    assert len(phantom_keys) == 1  # the sidecar is there, its transaction is not

    def seal_lost(store: object, keys: object) -> None:
        raise OSError("SIGKILL between commit and seal")

    monkeypatch.setattr(sidecar, "seal", seal_lost)
    unsealed = new_record(session, store, any_settings, world.teacher, factories.pdf_bytes("b"), title="Chưa niêm")
    monkeypatch.undo()
    assert not sidecar.is_sealed(store, f"records/THA/2025-2026/{unsealed.id}/v1.json")
    # the next start of a worker: the last day's commits sealed, then (once) the whole archive
    assert sidecar.seal_missing(session, store, since=calendar.now() - timedelta(days=1)) == 1
    assert sidecar.seal_archive(session, store) == 0

    engine = _empty_database(tmp_path)
    with make_sessionmaker(engine)() as fresh:
        report = rebuild.rebuild(fresh, store)
        assert {r.title for r in fresh.scalars(select(Record))} == {"Đã lưu", "Chưa niêm"}
        assert report.phantoms == phantom_keys and report.problems == [] and not report.unsealed_archive
    engine.dispose()
