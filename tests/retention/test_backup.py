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
