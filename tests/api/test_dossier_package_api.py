"""A dossier's package from the three doors: the API route (a recording's media record inside),
the dossier page's button, and `hoso dossiers package`; each refuses what it must, each is audited."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from api.app import create_app
from archive.models import AuditEvent, Dossier, Record
from flows.evidence.verify import verify
from flows.settings import Settings
from tests.api.test_cli import hoso
from tests.factories import World, login, mp4_bytes
from tests.flows.test_dossier_package import _year
from tests.search.test_search_api import upload
from tests.web.test_pages_http import csrf_of, page_login

VIDEO = {"record_type": "lesson_recording", "title": "Video tiết dạy Toán 5", "school_year": "2026-2027", "month": 11}


def _recording_dossier(client: TestClient, world: World, session: Session, settings: Settings) -> Dossier:
    _year(session, world, settings)
    record_id = upload(client, login(client, "gv.lan"), "tiet-day.mp4", mp4_bytes(200_000), **VIDEO)
    session.rollback()
    record = session.get(Record, record_id)
    assert record is not None and record.dossier_id, "the recording files itself into its dossier"
    dossier = session.get(Dossier, record.dossier_id)
    assert dossier is not None
    return dossier


def test_the_api_packages_a_closed_dossier_and_refuses_an_open_one(
    client: TestClient, world: World, session: Session, settings: Settings, tmp_path: Path
) -> None:
    dossier = _recording_dossier(client, world, session, settings)
    thu, lan = login(client, "vt.thu"), login(client, "gv.lan")
    url = f"/api/v1/dossiers/{dossier.id}/package"
    still_open = client.post(url, headers=thu)
    assert still_open.status_code == 409 and "chưa đóng" in still_open.json()["message"]
    closed = client.post("/api/v1/dossiers/closing", headers=thu, json={"dossier_ids": [dossier.id]})
    assert closed.status_code == 200, closed.text
    assert client.post(url, headers=lan).status_code == 403  # a teacher does not package dossiers
    assert client.post(url, headers=thu, params={"package_type": "DIP"}).status_code == 422
    made = client.post(url, headers=thu, params={"package_type": "SIP"})
    assert made.status_code == 200, made.text
    assert made.headers["content-type"] == "application/zip"
    assert "attachment" in made.headers["content-disposition"]
    package = tmp_path / "sip.zip"
    package.write_bytes(made.content)
    verdict = verify(package, settings)
    assert verdict.intact, verdict.problems  # the self-signed seal of a test server: intact, maker unproven
    with zipfile.ZipFile(io.BytesIO(made.content)) as z:
        names = {n.split("/", 1)[1]: n for n in z.namelist()}
        assert f"representations/rep1/data/{dossier.file_code}.1.mp4" in names
        record = z.read(names[f"metadata/descriptive/{dossier.file_code}.1.xml"]).decode()
        assert record.lstrip().startswith("<?xml") and "<tt05:media" in record
        assert "<tt05:movieTitle>Video tiết dạy Toán 5</tt05:movieTitle>" in record
        assert "<tt05:typeMedia>Phim</tt05:typeMedia>" in record
        assert 'csip:OAISPACKAGETYPE="SIP"' in z.read(names["METS.xml"]).decode()
    session.rollback()
    audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier.packaged")).all()
    assert [e.details["package_type"] for e in audited] == ["SIP"]
    assert not list(settings.tmp_dir.glob("*.dossier.zip"))  # the temporary ZIP went after it was sent


def test_the_dossier_page_has_the_button_and_the_cli_writes_the_file(
    client: TestClient, world: World, session: Session, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    dossier = _recording_dossier(client, world, session, settings)
    page_login(client, "vt.thu")
    page = client.get(f"/danh-muc-ho-so/ho-so/{dossier.id}")
    assert page.status_code == 200 and "Tải gói hồ sơ" not in page.text  # open: nothing to package yet
    cli_open = hoso(
        settings, "dossiers", "package", dossier.file_code, "--out", str(tmp_path / "x.zip"), "--as", "vt.thu"
    )
    assert cli_open.returncode == 1 and "chưa đóng" in cli_open.stderr and not (tmp_path / "x.zip").exists()
    closed = client.post(
        "/api/v1/dossiers/closing", headers=login(client, "vt.thu"), json={"dossier_ids": [dossier.id]}
    )
    assert closed.status_code == 200, closed.text
    page = client.get(f"/danh-muc-ho-so/ho-so/{dossier.id}")
    assert "Tải gói hồ sơ" in page.text and "Gói giao nộp vào lưu trữ" in page.text
    made = client.post(
        f"/danh-muc-ho-so/ho-so/{dossier.id}/goi", data={"csrf_token": csrf_of(page.text), "package_type": "AIP"}
    )
    assert made.status_code == 200 and made.headers["content-type"] == "application/zip"
    forged = client.post(f"/danh-muc-ho-so/ho-so/{dossier.id}/goi", data={"csrf_token": "x", "package_type": "AIP"})
    assert forged.status_code in (400, 403)
    out = tmp_path / "aip.zip"
    cli = hoso(settings, "dossiers", "package", dossier.file_code, "--out", str(out), "--as", "vt.thu")
    assert cli.returncode == 0, cli.stderr
    assert out.is_file() and "SHA-256" in cli.stdout and verify(out, settings).intact
    unknown = hoso(settings, "dossiers", "package", "9999.99.99", "--out", str(tmp_path / "y.zip"), "--as", "vt.thu")
    assert unknown.returncode == 1 and "Không có hồ sơ" in unknown.stderr


def _kept(client: TestClient, headers: dict[str, str], handover_id: int, timeout: float = 120) -> list[dict]:  # type: ignore[type-arg]
    """The handover's packages once the worker built them all (it runs beside the app in the tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        packages = client.get(f"/api/v1/dossier-handovers/{handover_id}", headers=headers).json()["packages"]
        if packages and all(p["state"] in ("ready", "failed") for p in packages):
            return packages  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("the handover's SIPs were not built in time")


def test_a_handover_keeps_each_dossiers_sip_for_the_schools_archive(
    client: TestClient, world: World, session: Session, settings: Settings, tmp_path: Path
) -> None:
    dossier = _recording_dossier(client, world, session, settings)
    thu, hoa, lan, binh = (login(client, u) for u in ("vt.thu", "ht.hoa", "gv.lan", "gv.binh"))
    assert client.post("/api/v1/dossiers/closing", headers=thu, json={"dossier_ids": [dossier.id]}).status_code == 200
    handed = client.post("/api/v1/dossier-handovers", headers=thu, json={"dossier_ids": [dossier.id]})
    assert handed.status_code == 201, handed.text
    [queued] = handed.json()["packages"]  # queued with the handover, in its transaction
    assert (queued["file_code"], queued["state"], queued["download"]) == (dossier.file_code, "queued", None)
    handover_id = handed.json()["id"]
    [kept] = _kept(client, thu, handover_id)
    assert kept["state"] == "ready", kept["error"]
    for outsider in (lan, binh):  # a teacher, another school's: not the school's archive
        assert client.get(f"/api/v1/dossier-handovers/{handover_id}", headers=outsider).status_code == 403
        assert client.get(kept["download"], headers=outsider).status_code == 403
    got = client.get(kept["download"], headers=hoa)  # the principal, as the archive's head
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert hashlib.sha256(got.content).hexdigest() == kept["sha256"] == got.headers["x-content-sha256"]
    package = tmp_path / "sip.zip"
    package.write_bytes(got.content)
    assert verify(package, settings).intact
    with zipfile.ZipFile(package) as z:
        names = {n.split("/", 1)[1]: n for n in z.namelist()}
        assert 'csip:OAISPACKAGETYPE="SIP"' in z.read(names["METS.xml"]).decode()
        assert f"representations/rep1/data/{dossier.file_code}.1.mp4" in names
    missing = client.get(f"/api/v1/dossier-handovers/{handover_id}/packages/{world.clerk.id}", headers=thu)
    assert missing.status_code == 404
    session.rollback()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier.sip_kept")).one()
    assert event.details["sha256"] == kept["sha256"] and event.details["handover_id"] == handover_id
    downloads = session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier.sip_downloaded")).all()
    assert [e.actor_id for e in downloads] == [world.principal.id]
    page_login(client, "vt.thu")
    page = client.get("/danh-muc-ho-so", params={"truong": "THA", "nam": "2026-2027"}).text
    assert f"Gói SIP hồ sơ {dossier.file_code}:" in page and kept["download"] in page
    shell = hoso(settings, "dossiers", "sips", str(handover_id), "--out", str(tmp_path), "--as", "vt.thu")
    assert shell.returncode == 0, shell.stderr
    [written] = tmp_path.glob("*-SIP-*.zip")
    assert hashlib.sha256(written.read_bytes()).hexdigest() == kept["sha256"] and kept["sha256"] in shell.stdout


def test_a_sip_destroyed_while_built_is_not_kept_and_a_crashed_put_is_replaced(
    world: World, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job itself, without a background worker racing it: a destruction that marks the row while
    the ZIP is built leaves no object behind; an object put by a run that crashed before its commit is
    replaced by the next run, whose hash is the one recorded."""
    from archive.models import HandoverPackage
    from archive.storage import make_store
    from flows.dossier_package import build, handover_sips

    with TestClient(create_app(settings.model_copy(update={"index_worker": False}))) as client:
        dossier = _recording_dossier(client, world, session, settings)
        thu = login(client, "vt.thu")
        assert (
            client.post("/api/v1/dossiers/closing", headers=thu, json={"dossier_ids": [dossier.id]}).status_code == 200
        )
        handover_id = client.post("/api/v1/dossier-handovers", headers=thu, json={"dossier_ids": [dossier.id]}).json()[
            "id"
        ]
        state, store = client.app.state.hoso, make_store(settings)  # type: ignore[attr-defined]
        key = handover_sips.package_key(handover_id, dossier.id)
        built = build.build

        def destroyed_meanwhile(*args: object, **kwargs: object) -> build.Built:
            made = built(*args, **kwargs)  # type: ignore[arg-type]
            with state.sessions() as other:
                other.execute(update(HandoverPackage).values(state="destroyed", store_key=None))
                other.commit()
            return made

        monkeypatch.setattr(build, "build", destroyed_meanwhile)
        handover_sips.run(state, handover_id, dossier.id)
        assert not store.exists(key)  # it held the destroyed bytes: deleted, not kept
        session.rollback()
        assert session.scalars(select(HandoverPackage.state)).one() == "destroyed"
        monkeypatch.setattr(build, "build", built)

        # a run that put its ZIP and crashed before committing: the row still "building", the key taken
        session.execute(update(HandoverPackage).values(state="building", store_key=key))
        session.commit()
        store.put(key, io.BytesIO(b"left by a crashed run"), content_type="application/zip")
        handover_sips.run(state, handover_id, dossier.id)
        session.rollback()
        row = session.scalars(select(HandoverPackage)).one()
        assert row.state == "ready" and row.store_key == key
        kept = b"".join(store.get(key))
        assert hashlib.sha256(kept).hexdigest() == row.sha256 and kept.startswith(b"PK")
        handover_sips.run(state, handover_id, dossier.id)  # run again (a lease lost): nothing changes
        assert b"".join(store.get(key)) == kept
        # an administrator reads no record content by that role alone: not a school's SIP either
        admin = login(client, "admin1")
        assert (
            client.get(f"/api/v1/dossier-handovers/{handover_id}/packages/{dossier.id}", headers=admin).status_code
            == 403
        )
