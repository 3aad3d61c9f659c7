"""`hoso backup` and `hoso restore`: a consistent second copy, restored into an empty data folder, hashes checked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from archive.storage import make_store
from flows.settings import Settings
from retention import backup
from tests.api.test_cli import hoso, hoso_env
from tests.factories import World, lesson_plan_pdf, login
from tests.retention.test_retention import _env
from tests.search.test_search_api import upload


def test_backup_restores_into_an_empty_data_dir_with_every_hash_verified(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    lan = login(client, "gv.lan")
    originals = [lesson_plan_pdf(f"Bài {i}") for i in range(3)]
    plans = {upload(client, lan, f"khbd-{i}.pdf", data): data for i, data in enumerate(originals)}
    dest = tmp_path / "ban-sao"
    made = hoso(settings, "backup", str(dest), env=_env(settings))
    assert made.returncode == 0, made.stdout + made.stderr
    assert (dest / "backup.json").exists() and (dest / "manifest-sha256.txt").exists()
    # a second, independent place: an empty data folder with its own (SQLite) database and folder store
    fresh = Settings(data_dir=tmp_path / "restored", secret_key=settings.secret_key, retention_sweep_hours=0)
    fresh.data_dir.mkdir()
    env = hoso_env(fresh)
    assert hoso(fresh, "db", "upgrade", env=env).returncode == 0
    restored = hoso(fresh, "restore", str(dest), env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Toàn vẹn / intact" in restored.stdout
    assert hoso(fresh, "audit", "verify", env=env).returncode == 0
    with TestClient(create_app(fresh)) as again:
        headers = login(again, "gv.lan")
        for record_id, original in plans.items():
            content = again.get(f"/api/v1/records/{record_id}/content", headers=headers)
            assert content.status_code == 200 and content.content == original
        assert again.get(f"/api/v1/records/{record_id}/retention", headers=headers).json()["locked_until"]
    twice = hoso(fresh, "restore", str(dest), env=env)
    assert twice.returncode == 1 and "đã có hồ sơ" in twice.stderr


def test_a_damaged_backup_is_refused(client: TestClient, world: World, settings: Settings, tmp_path: Path) -> None:
    upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf("Bài"))
    dest = tmp_path / "ban-sao"
    assert hoso(settings, "backup", str(dest), env=_env(settings)).returncode == 0
    blob = next(p for p in (dest / "objects" / "blobs").rglob("*") if p.is_file())
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-1] + b"X")
    fresh = Settings(data_dir=tmp_path / "restored", secret_key=settings.secret_key, retention_sweep_hours=0)
    fresh.data_dir.mkdir()
    env = hoso_env(fresh)
    assert hoso(fresh, "db", "upgrade", env=env).returncode == 0
    refused = hoso(fresh, "restore", str(dest), env=env)
    assert refused.returncode == 1 and "altered" in refused.stderr
    not_empty = hoso(settings, "backup", str(dest), env=_env(settings))
    assert not_empty.returncode == 1 and "không trống" in not_empty.stderr


def _fresh(settings: Settings, folder: Path) -> tuple[Settings, dict[str, str]]:
    fresh = Settings(data_dir=folder, secret_key=settings.secret_key, retention_sweep_hours=0)
    fresh.data_dir.mkdir()
    env = hoso_env(fresh)
    assert hoso(fresh, "db", "upgrade", env=env).returncode == 0
    return fresh, env


def test_an_incremental_backup_copies_only_new_blobs_and_restores_everything(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    lan = login(client, "gv.lan")
    first = {upload(client, lan, f"khbd-{i}.pdf", data := lesson_plan_pdf(f"Bài {i}")): data for i in range(2)}
    full, daily = tmp_path / "2026-12-01-full", tmp_path / "2026-12-02-incr"
    assert hoso(settings, "backup", str(full), env=_env(settings)).returncode == 0
    later = {upload(client, lan, "khbd-moi.pdf", data := lesson_plan_pdf("Bài mới")): data}
    made = hoso(settings, "backup", str(daily), "--base", str(full), env=_env(settings))
    assert made.returncode == 0, made.stdout + made.stderr
    # the day's copy holds the new plan's blob and none of the two the full set already has
    full_blobs = {p.name for p in (full / "objects" / "blobs").rglob("*") if p.is_file()}
    daily_blobs = {p.name for p in (daily / "objects" / "blobs").rglob("*") if p.is_file()}
    assert len(full_blobs) >= 2 and daily_blobs and not daily_blobs & full_blobs
    assert "đã có trong bản gốc" in made.stdout

    fresh, env = _fresh(settings, tmp_path / "restored")
    restored = hoso(fresh, "restore", str(daily), env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Toàn vẹn / intact" in restored.stdout
    with TestClient(create_app(fresh)) as again:
        headers = login(again, "gv.lan")
        for record_id, original in {**first, **later}.items():
            content = again.get(f"/api/v1/records/{record_id}/content", headers=headers)
            assert content.status_code == 200 and content.content == original


def test_an_incremental_backup_whose_base_changed_or_went_is_refused(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf("Bài"))
    full, daily = tmp_path / "full", tmp_path / "incr"
    assert hoso(settings, "backup", str(full), env=_env(settings)).returncode == 0
    assert hoso(settings, "backup", str(daily), "--base", str(full), env=_env(settings)).returncode == 0
    fresh, env = _fresh(settings, tmp_path / "restored")

    blob = next(p for p in (full / "objects" / "blobs").rglob("*") if p.is_file())
    blob.chmod(0o644)
    good = blob.read_bytes()
    blob.write_bytes(good[:-1] + b"X")  # a byte changed in the base: the day's backup cannot be restored
    refused = hoso(fresh, "restore", str(daily), env=env)
    assert refused.returncode == 1 and "altered" in refused.stderr and "full" in refused.stderr
    # building on it checks the chain's shape, not every byte (that would read the whole full set each
    # night): tomorrow's set is made, and it is refused at restore as today's is
    again = hoso(settings, "backup", str(tmp_path / "incr2"), "--base", str(full), env=_env(settings))
    assert again.returncode == 0, again.stderr
    later = hoso(fresh, "restore", str(tmp_path / "incr2"), env=env)
    assert later.returncode == 1 and "altered" in later.stderr

    blob.write_bytes(good)
    manifest = full / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text() + "\n")  # the base's manifest edited after the fact
    swapped = hoso(fresh, "restore", str(daily), env=env)
    assert swapped.returncode == 1 and "changed since" in swapped.stderr

    (full / "backup.json").rename(full / "backup.old")
    gone = hoso(fresh, "restore", str(daily), env=env)
    assert gone.returncode == 1 and "base backup missing" in gone.stderr


# Found by review (2026-12-02): a night that died half-way must not stop the following nights, and an
# incremental must not re-read its whole base chain before it starts.
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def nightly(settings: Settings, root: Path, day: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    wrapper = tmp_path / "hoso"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m api.cli "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, **_env(settings), "HOSO_BACKUP_DIR": str(root), "HOSO_BIN": str(wrapper)}
    env["HOSO_BACKUP_DATE"] = day
    return subprocess.run([str(DEPLOY / "hoso-backup")], env=env, capture_output=True, text=True, timeout=300)


def test_one_interrupted_night_does_not_stop_the_following_nights(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf("Bài"))
    root = tmp_path / "backups"
    assert nightly(settings, root, "2026-12-01", tmp_path).returncode == 0
    # the night of the 2nd dies (power cut, disk full, OOM) before its manifest is written
    assert (
        hoso(
            settings,
            "backup",
            str(root / "2026-12-02-incr"),
            "--base",
            str(root / "2026-12-01-full"),
            env=_env(settings),
        ).returncode
        == 0
    )
    (root / "2026-12-02-incr" / "manifest-sha256.txt").unlink()
    (root / "2026-12-02-incr" / "backup.json").unlink()
    upload(client, login(client, "gv.lan"), "khbd-2.pdf", lesson_plan_pdf("Bài 2"))
    third = nightly(settings, root, "2026-12-03", tmp_path)
    fourth = nightly(settings, root, "2026-12-04", tmp_path)
    assert (third.returncode, fourth.returncode) == (0, 0), third.stderr[-400:]


@pytest.mark.parametrize("blobs", [4])
def test_an_incremental_does_not_rehash_its_whole_base(
    client: TestClient,
    world: World,
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
    blobs: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lan = login(client, "gv.lan")
    for i in range(blobs):
        upload(client, lan, f"khbd-{i}.pdf", lesson_plan_pdf(f"Bài {i}"))
    store = make_store(settings)
    full = tmp_path / "full"
    backup.backup(engine, store, full)
    base_blob_bytes = sum(p.stat().st_size for p in (full / "objects" / "blobs").rglob("*") if p.is_file())
    hashed: list[Path] = []
    real = backup._sha_file
    monkeypatch.setattr(backup, "_sha_file", lambda p: (hashed.append(Path(p)), real(p))[1])  # a counting spy
    backup.backup(engine, store, tmp_path / "incr", base=full)
    reread = sum(p.stat().st_size for p in hashed if full in p.parents and "objects" in p.parts)
    assert reread < base_blob_bytes, f"the incremental re-read {reread} bytes of its base's {base_blob_bytes}"


def test_a_run_that_dies_leaves_no_set_and_sets_moved_together_still_restore(
    client: TestClient,
    world: World,
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf("Bài"))
    store, site = make_store(settings), tmp_path / "site-a"
    backup.backup(engine, store, site / "2026-12-01-full")

    def power_cut(dest: Path, info: dict[str, object]) -> None:
        raise OSError("power cut")

    with monkeypatch.context() as m:
        m.setattr(backup, "_finish", power_cut)
        with pytest.raises(OSError):
            backup.backup(engine, store, site / "2026-12-02-incr", base=site / "2026-12-01-full")
    assert not (site / "2026-12-02-incr").exists()  # nothing under the name, only a hidden partial folder
    backup.backup(engine, store, site / "2026-12-02-incr", base=site / "2026-12-01-full")
    assert sorted(p.name for p in site.iterdir()) == ["2026-12-01-full", "2026-12-02-incr"]

    # the second site: both sets copied there together, the first site gone
    second = tmp_path / "site-b"
    shutil.copytree(site, second)
    shutil.rmtree(site)
    assert backup.check(second / "2026-12-02-incr") == []
    fresh, env = _fresh(settings, tmp_path / "restored")
    restored = hoso(fresh, "restore", str(second / "2026-12-02-incr"), env=env)
    assert restored.returncode == 0 and "Toàn vẹn / intact" in restored.stdout, restored.stderr
