"""`hoso backup` and `hoso restore`: a consistent second copy, restored into an empty data folder, hashes checked."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from flows.settings import Settings
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
    again = hoso(settings, "backup", str(tmp_path / "incr2"), "--base", str(full), env=_env(settings))
    assert again.returncode == 1 and "hỏng" in again.stderr  # nor built upon

    blob.write_bytes(good)
    manifest = full / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text() + "\n")  # the base's manifest edited after the fact
    swapped = hoso(fresh, "restore", str(daily), env=env)
    assert swapped.returncode == 1 and "changed since" in swapped.stderr

    (full / "backup.json").rename(full / "backup.old")
    gone = hoso(fresh, "restore", str(daily), env=env)
    assert gone.returncode == 1 and "base backup missing" in gone.stderr
