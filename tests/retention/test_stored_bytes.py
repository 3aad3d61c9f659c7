"""The bytes served are the bytes stored (issue #13 item 3), on both stores (folder and S3 over HTTP).

Attacks: a plain PutObject and a delete marker on a blob key (S3); a changed byte in a blob file on
disk (folder); on S3 also an overwrite of a blob stored before versions were recorded (its row has
no version, so the latest is read); a killed run's orphans; deleted audit events with the head
rewritten in SQL.
"""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from api.routers.records import DownloadCut
from archive import anchors, audit, sidecar
from archive.blobs import BlobMismatch, verified
from archive.db import write_transaction
from archive.models import AuditEvent, AuditHead, Blob, Role, Version
from archive.storage import ObjectStore, blob_key, make_store
from flows.settings import Settings
from retention.models import FixityRun
from tests.api.test_cli import hoso
from tests.factories import World, lesson_plan_pdf, login, meta, mp4_bytes, person
from tests.flows.test_evidence import wait_ready
from tests.pki import TestPKI
from tests.retention.test_retention import _env
from tests.retention.test_transfer import transcript
from tests.search.test_search_api import upload
from tests.web.test_pages_http import page_login


def blob_of(session: Session, record_id: str) -> str:
    session.commit()
    return session.scalar(select(Version.blob_sha256).where(Version.record_id == record_id, Version.number == 1)) or ""


def raw_put(store: ObjectStore, key: str, data: bytes) -> None:
    """A plain PutObject from a client of the bucket's own, past every check hoso makes."""
    store.client.put_object(store.bucket, key, io.BytesIO(data), len(data))  # type: ignore[attr-defined]


def alter(settings: Settings, store: ObjectStore, session: Session, sha: str) -> None:
    """Make the bytes hoso reads for a blob wrong: a changed byte on disk (folder); on S3 an overwrite
    of a blob recorded before versions were (no version: the latest is what hoso reads)."""
    key = blob_key(sha)
    if settings.s3_endpoint:
        session.commit()  # a fresh transaction: another process may have written since our last read
        session.execute(update(Blob).where(Blob.sha256 == sha).values(version_id=None))
        session.commit()
        original = b"".join(store.get(key))
        raw_put(store, key, original[:-1] + bytes([original[-1] ^ 1]))
        return
    path = Path(store.root, *key.split("/"))  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))


def s3_env(settings: Settings) -> dict[str, str]:
    """The test's S3 bucket, for a hoso process of its own (none for the folder store)."""
    env = _env(settings)
    return {k: v for k, v in env.items() if k.startswith("HOSO_S3_")} if settings.s3_endpoint else {}


def flagged(session: Session, sha: str) -> Blob:
    session.commit()
    blob = session.get(Blob, sha, populate_existing=True)
    assert blob is not None
    return blob


def mismatch_events(session: Session, sha: str) -> list[AuditEvent]:
    session.commit()
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == "blob.mismatch", AuditEvent.object_id == sha))
    )


# -- S3: the version hoso wrote ------------------------------------------------------------------


def test_s3_serves_the_version_it_wrote_after_a_plain_put_and_a_delete_marker(
    client: TestClient, world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    if not settings.s3_endpoint:
        pytest.skip("object versions are an S3 matter; the folder store's overwrite is caught by the hash")
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    data = lesson_plan_pdf("Phân số")
    record_id = upload(client, lan, "khbd.pdf", data)
    sha = blob_of(session, record_id)
    assert flagged(session, sha).version_id  # recorded at the put
    raw_put(store, blob_key(sha), b"%PDF-1.4 not what the teacher uploaded")
    served = client.get(f"/api/v1/records/{record_id}/content", headers=lan)
    assert served.status_code == 200 and served.content == data
    store.client.remove_object(store.bucket, blob_key(sha))  # type: ignore[attr-defined]  # a delete marker
    served = client.get(f"/api/v1/records/{record_id}/content", headers=lan)
    assert served.status_code == 200 and served.content == data
    ranged = client.get(f"/api/v1/records/{record_id}/content", headers={**lan, "Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == data[:100]
    bad = hoso(settings, "fixity", env=_env(settings))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bị can thiệp / tampered" in bad.stderr and record_id in bad.stderr
    assert "delete marker" in bad.stderr
    assert "sai băm / altered" not in bad.stderr  # the version hoso wrote still hashes right
    runs = client.get("/api/v1/fixity/runs", headers=hoa).json()
    assert runs[0]["state"] == "problems" and runs[0]["tampered"][0]["records"] == [record_id]
    assert flagged(session, sha).flagged_at is not None


def test_fixity_reports_a_version_put_over_a_blob_as_tampering(
    client: TestClient, world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    if not settings.s3_endpoint:
        pytest.skip("object versions are an S3 matter")
    lan = login(client, "gv.lan")
    record_id = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số"))
    assert hoso(settings, "fixity", env=_env(settings)).returncode == 0
    raw_put(store, blob_key(blob_of(session, record_id)), b"replacement")
    bad = hoso(settings, "fixity", env=_env(settings))
    assert bad.returncode == 1 and "other version(s) were put over the version hoso wrote" in bad.stderr


# -- downloads hash as they stream ----------------------------------------------------------------


def test_verified_holds_back_the_last_bytes_until_the_hash_is_known() -> None:
    import hashlib

    chunks = [os.urandom(1000) for _ in range(4)]
    good = hashlib.sha256(b"".join(chunks)).hexdigest()
    assert b"".join(verified(iter(chunks), good, 4000)) == b"".join(chunks)
    sent: list[bytes] = []
    with pytest.raises(BlobMismatch):
        for chunk in verified(iter(chunks), "0" * 64, 4000):
            sent.append(chunk)
    assert len(b"".join(sent)) == 3000  # never the whole body
    sent.clear()
    with pytest.raises(BlobMismatch):  # longer than stored: cut before a byte past the length goes out
        for chunk in verified(iter([*chunks, b"x"]), good, 4000):
            sent.append(chunk)
    assert len(b"".join(sent)) <= 4000


def test_a_download_of_altered_bytes_fails_is_audited_and_flags_the_blob(
    world: World, session: Session, settings: Settings, store: ObjectStore, tmp_path: Path
) -> None:
    """Over a real server: the client sees the connection close before the body is complete. The server
    runs without its worker, so only the download reads the altered bytes (a poster job reading them
    first would flag the blob for its own reason)."""
    from tests.api.test_server_process import Server

    server = Server(settings, tmp_path / "server.log", s3_env(settings), ("--no-worker",))
    server.start()
    try:
        token = {"Authorization": f"Bearer {server.token()}"}
        data = mp4_bytes(3 * 1024 * 1024 + 123)  # several chunks: some bytes go out before the check
        made = httpx.post(
            f"{server.url}/api/v1/records",
            headers=token,
            files={
                "metadata": (None, json.dumps(meta(record_type="lesson_recording", title="Tiết dạy"))),
                "file": ("tiet.mp4", data),
            },
            timeout=60,
        )
        assert made.status_code == 201, made.text
        record_id = made.json()["id"]
        sha = blob_of(session, record_id)
        url = f"{server.url}/api/v1/records/{record_id}/content"
        assert httpx.get(url, headers=token, timeout=60).content == data
        alter(settings, store, session, sha)
        received = 0
        with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url, headers=token, timeout=60) as answer:
            assert answer.status_code == 200 and answer.headers["etag"] == f'"{sha}"'
            for chunk in answer.iter_bytes():
                received += len(chunk)
        assert 0 < received < len(data)
    finally:
        server.stop()
    blob = flagged(session, sha)
    assert blob.flagged_at is not None and "download" in (blob.flag_reason or "")
    [event] = mismatch_events(session, sha)
    assert event.details["where"] == "download" and event.details["records"] == [record_id]


def test_the_fixity_page_lists_a_flagged_blob(
    client: TestClient, world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    lan = login(client, "gv.lan")
    record_id = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số"))
    sha = blob_of(session, record_id)
    alter(settings, store, session, sha)
    with pytest.raises(DownloadCut):  # in-process, the cut response surfaces as the server's error
        client.get(f"/api/v1/records/{record_id}/content", headers=lan)
    assert flagged(session, sha).flagged_at is not None and len(mismatch_events(session, sha)) == 1
    person(session, "lt.mai", Role.archivist, "THA")
    page_login(client, "lt.mai")
    page = client.get("/luu-tru")
    assert page.status_code == 200 and sha in page.text and "Tệp cần kiểm tra" in page.text


# -- packages check every blob as they pack it -----------------------------------------------------


def test_an_evidence_package_with_an_altered_blob_is_refused_not_sealed(
    client: TestClient, world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    video = {"record_type": "lesson_recording", "title": "Tiết dạy", "month": 11}
    ids = [upload(client, lan, f"tiet-{i}.mp4", mp4_bytes(100_000 + i), **video) for i in range(2)]
    sha = blob_of(session, ids[1])
    alter(settings, store, session, sha)
    response = client.post("/api/v1/evidence", headers=hoa, json={"title": "Thanh tra", "record_ids": ids})
    assert response.status_code == 202, response.text
    export = wait_ready(client, hoa, response.json()["id"])
    assert export["state"] == "failed"
    assert "Không niêm phong gói" in export["error"] and f"{ids[1]}/v1-tiet-1.mp4" in export["error"]
    assert not list(store.list("exports/"))
    assert flagged(session, sha).flagged_at is not None and len(mismatch_events(session, sha)) == 1


def test_a_transfer_with_an_altered_blob_is_refused_not_sealed(
    client: TestClient, world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    ids = [transcript(client, lan, f"Học bạ số {i}", "2023-2024") for i in range(2)]
    sha = blob_of(session, ids[0])
    alter(settings, store, session, sha)
    made = client.post(
        "/api/v1/retention/transfers", headers=hoa, json={"school_code": "THA", "school_year": "2023-2024"}
    )
    assert made.status_code == 500 and made.json()["error"] == "package_refused"
    assert "Không niêm phong gói" in made.json()["message"] and ids[0] in made.json()["message"]
    assert not list(store.list("transfers/"))
    assert flagged(session, sha).flagged_at is not None and len(mismatch_events(session, sha)) == 1
    due = client.get("/api/v1/retention/transfers/due", headers=hoa, params={"school_code": "THA"}).json()
    assert due[0]["records"] == 2  # nothing was marked transferred


# -- orphans and hoso gc -----------------------------------------------------------------------------


def orphan_blob(store: ObjectStore, data: bytes) -> str:
    """What a killed signing run leaves: a signed file under its address, and no row."""
    import hashlib

    key = blob_key(hashlib.sha256(data).hexdigest())
    store.put(key, io.BytesIO(data), len(data))
    return key


def test_fixity_lists_orphans_and_gc_removes_only_old_unlocked_ones(
    client: TestClient, world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    lan = login(client, "gv.lan")
    record_id = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Phân số"))
    kept_blob = blob_key(blob_of(session, record_id))
    signed = [orphan_blob(store, b"%PDF-1.7 signed copy " + bytes([i])) for i in range(3)]
    locked = orphan_blob(store, b"%PDF-1.7 a locked orphan")
    store.set_retention(locked, datetime.now(UTC) + timedelta(days=30))
    phantom = "records/THA/2025-2026/00000000-dead-4000-8000-000000000000/v1.json"
    sidecar.write(store, phantom, {"format": sidecar.FORMAT})  # a transaction that never committed
    lost = "records/THA/2025-2026/00000000-dead-4000-8000-000000000001/v1.json"
    sidecar.write(store, lost, {"format": sidecar.FORMAT})
    sidecar.seal(store, [lost])  # committed, then the database lost it: a record to rebuild, not garbage

    run = hoso(settings, "fixity", env=_env(settings))
    assert run.returncode == 0, run.stdout + run.stderr  # orphans are garbage, not damage
    for key in [*signed, locked, phantom]:
        assert key in run.stderr
    assert lost not in run.stderr and kept_blob not in run.stderr
    assert "5 đối tượng mồ côi / orphans" in run.stderr

    young = hoso(settings, "gc", env=_env(settings))  # the default grace: a day
    assert young.returncode == 0, young.stderr
    assert "đã xóa / removed: 0" in young.stdout and "within grace: 5" in young.stdout
    dry = hoso(settings, "gc", "--grace-hours", "0", "--dry-run", env=_env(settings))
    assert dry.returncode == 0 and "sẽ xóa / would remove: 4" in dry.stdout and locked in dry.stderr
    assert all(store.exists(k) for k in [*signed, locked, phantom])
    if not settings.s3_endpoint:  # the folder store's ages can be set: an old orphan goes with the default grace
        old = (datetime.now(UTC) - timedelta(hours=30)).timestamp()
        os.utime(Path(store.root, *signed[0].split("/")), (old, old))  # type: ignore[attr-defined]
        one = hoso(settings, "gc", env=_env(settings))
        assert "đã xóa / removed: 1" in one.stdout and signed[0] in one.stdout
    gone = hoso(settings, "gc", "--grace-hours", "0", env=_env(settings))
    assert gone.returncode == 0, gone.stderr
    assert "bị khóa, giữ nguyên / locked, kept" in gone.stderr and locked in gone.stderr
    assert not any(store.exists(k) for k in [*signed, phantom])
    assert store.exists(locked) and store.exists(lost) and store.exists(kept_blob)
    assert store.exists(sidecar.seal_key(lost))
    session.commit()
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "store.gc").order_by(AuditEvent.seq)))
    assert events[-1].details["locked"] == [locked] and phantom in events[-1].details["keys"]
    assert b"".join(store.get(kept_blob))  # the referenced blob is untouched
    assert client.get(f"/api/v1/records/{record_id}/content", headers=lan).status_code == 200


# -- the audit chain anchored in the store ---------------------------------------------------------


def test_deleting_the_last_events_and_rewriting_the_head_is_caught_by_the_anchor(
    world: World, session: Session, settings: Settings, store: ObjectStore
) -> None:
    with write_transaction(session):
        for n in range(5):
            audit.append(session, actor=None, action="test.event", object_type="test", object_id=n)
    no_anchor = hoso(settings, "audit", "verify", env=_env(settings))
    assert no_anchor.returncode == 0 and "no anchor in the store yet" in no_anchor.stdout
    run = hoso(settings, "fixity", env=_env(settings))
    assert run.returncode == 0, run.stderr
    [anchor] = list(anchors.listed(store))
    session.commit()
    head = session.get(AuditHead, 1, populate_existing=True)
    assert head is not None and anchor.seq == head.seq - 1  # the fixity event itself comes after its anchor
    assert store.head(anchor.key).retain_until is not None  # it cannot be deleted early
    assert json.loads(b"".join(store.get(anchor.key)))["hash"] == anchor.hash
    ok = hoso(settings, "audit", "verify", env=_env(settings))
    assert ok.returncode == 0, ok.stderr
    assert anchor.key in ok.stdout

    # someone with SQL access deletes the last three events and makes the head point before them
    cut = anchor.seq - 2
    keep = session.scalar(select(AuditEvent).where(AuditEvent.seq == cut - 1))
    assert keep is not None
    session.execute(delete(AuditEvent).where(AuditEvent.seq >= cut))
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=keep.seq, hash=keep.hash))
    session.commit()
    assert audit.verify_chain(session).ok  # the chain alone cannot see it

    bad = hoso(settings, "audit", "verify", env=_env(settings))
    assert bad.returncode == 1
    assert f"anchor {anchor.key}: event {anchor.seq} was anchored" in bad.stderr
    assert f"chain ends at event {keep.seq}" in bad.stderr
    fixity = hoso(settings, "fixity", env=_env(settings))
    assert fixity.returncode == 1 and anchor.key in fixity.stderr
    assert len(list(anchors.listed(store))) == 1  # a cut chain is never anchored again


def test_an_edited_anchored_event_names_the_anchor(world: World, session: Session, settings: Settings) -> None:
    store = make_store(settings)
    with write_transaction(session):
        audit.append(session, actor=None, action="test.event", object_type="test", object_id=1)
    anchor = anchors.write(session, store)
    assert anchor is not None and anchors.write(session, store) == anchor  # the same head: the same anchor
    # the head rewritten to a forged last event with a fresh hash chain over it
    forged = "f" * 64
    session.execute(update(AuditEvent).where(AuditEvent.seq == anchor.seq).values(hash=forged))
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=forged))
    session.commit()
    report = anchors.verify(session, store)
    assert report.problems == [f"anchor {anchor.key}: event {anchor.seq} has hash {forged}, the anchor {anchor.hash}"]


def test_the_workers_daily_pass_anchors_the_head_between_fixity_runs(
    client: TestClient, world: World, session: Session, store: ObjectStore
) -> None:
    from flows.worker import Worker
    from retention import fixity

    hoso_state = client.app.state.hoso  # type: ignore[attr-defined]
    fixity.run(session, store)  # a fresh run: the weekly fixity is not due at the daily pass
    before = {a.key for a in anchors.listed(store)}
    assert len(before) == 1
    with write_transaction(session):
        audit.append(session, actor=None, action="test.event", object_type="test", object_id=1)
    Worker(hoso_state).periodic()
    session.commit()
    head = session.get(AuditHead, 1, populate_existing=True)
    assert head is not None
    [new] = [a for a in anchors.listed(store) if a.key not in before]
    assert (new.seq, new.hash) == (head.seq, head.hash)
    assert session.scalar(select(func.count()).select_from(FixityRun)) == 1  # no second fixity run


def test_a_plan_whose_stored_bytes_fail_their_hash_is_not_signed(
    client: TestClient,
    world: World,
    session: Session,
    settings: Settings,
    store: ObjectStore,
    pki: TestPKI,
    principal_certificate: None,
) -> None:
    from tests.signing.conftest import approve_all, sign, submit, upload_plan, wait_batch

    settings.trust_roots, settings.tsa_url = str(pki.root_pem_path()), pki.tsa_url  # the app reads them on use
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    plans = [upload_plan(client, lan, title)["id"] for title in ("Toán 5 — Phân số", "Khoa học 5 — Nước")]
    batch_id = ""
    for plan in plans:
        batch_id = submit(client, lan, plan)["batch_id"]
    approve_all(client, hoa, batch_id)
    sha = blob_of(session, plans[1])
    alter(settings, store, session, sha)
    started = sign(client, hoa, batch_id, pki.pkcs12("principal"), level="B-B")
    assert started.status_code == 202, started.text
    batch = wait_batch(client, hoa, batch_id)
    failed = [i for i in batch["items"] if i["record_id"] == plans[1]][0]
    signed = [i for i in batch["items"] if i["record_id"] == plans[0]][0]
    assert signed["sign_state"] == "signed" and failed["sign_state"] != "signed", batch
    assert "không khớp mã băm" in json.dumps(batch, ensure_ascii=False)
    assert flagged(session, sha).flagged_at is not None and len(mismatch_events(session, sha)) == 1
