"""The `hoso` command line, run as a person runs it: a process, its output, its exit code."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from archive.db import make_sessionmaker
from archive.models import AuditEvent, Record
from flows.settings import Settings
from tests import factories
from tests.factories import World


def hoso_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HOSO_DATA_DIR": str(settings.data_dir),
        "HOSO_DATABASE_URL": settings.resolved_database_url,
        "HOSO_SECRET_KEY": settings.secret_key or "",
        "HOSO_TRUST_ROOTS": settings.trust_roots,
        "HOSO_TSA_URL": settings.tsa_url or "",
        "HOSO_SIGNING_LEASE_SECONDS": str(settings.signing_lease_seconds),
        "HOSO_RETENTION_SWEEP_HOURS": str(settings.retention_sweep_hours),
        "COLUMNS": "200",
        **extra,
    }


def hoso(
    settings: Settings, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = env or hoso_env(settings)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True, input=input, timeout=120
    )


def test_school_and_user_administration(settings: Settings, engine: Engine) -> None:
    ok = hoso(settings, "school", "add", "--code", "THCS9", "--name", "Trường THCS Nguyễn Du")
    assert ok.returncode == 0, ok.stderr
    again = hoso(settings, "school", "add", "--code", "THCS9", "--name", "x")
    assert again.returncode == 1 and "đã có" in again.stderr.lower()
    made = hoso(
        settings,
        "admin",
        "create-user",
        "--username",
        "ht.du",
        "--password",
        "mat-khau-dai-123",
        "--full-name",
        "Hiệu trưởng Du",
        "--role",
        "principal",
        "--school",
        "THCS9",
    )
    assert made.returncode == 0, made.stderr
    unknown_school = hoso(
        settings,
        "admin",
        "create-user",
        "--username",
        "x.y",
        "--password",
        "mat-khau-dai-123",
        "--full-name",
        "X",
        "--role",
        "teacher",
        "--school",
        "NOPE",
    )
    assert unknown_school.returncode == 1 and "NOPE" in unknown_school.stderr
    bad_role = hoso(
        settings,
        "admin",
        "create-user",
        "--username",
        "x.z",
        "--password",
        "mat-khau-dai-123",
        "--full-name",
        "X",
        "--role",
        "wizard",
        "--school",
        "THCS9",
    )
    assert bad_role.returncode == 2 and "wizard" in bad_role.stderr


def _write_import(folder: Path) -> None:
    (folder / "to-5a").mkdir(parents=True)
    (folder / "to-5a" / "ke-hoach-1.pdf").write_bytes(factories.pdf_bytes("1"))
    (folder / "to-5a" / "ke-hoach-2.docx").write_bytes(factories.docx_bytes())
    (folder / "to-5a" / "virus.pdf").write_bytes(factories.EXE)
    (folder / "so-diem.csv").write_bytes(factories.csv_bytes())
    (folder / "stray.pdf").write_bytes(factories.pdf_bytes("stray"))
    rows = [
        {"file": "to-5a/ke-hoach-1.pdf", "record_type": "lesson_plan", "title": "KHBD Toán tuần 1", "month": "9"},
        {
            "file": "to-5a/ke-hoach-2.docx",
            "record_type": "lesson_plan",
            "title": "KHBD Toán tuần 2",
            "month": "9",
            "author": "gv.minh",
        },
        {"file": "to-5a/virus.pdf", "record_type": "lesson_plan", "title": "Giả PDF", "month": "9"},
        {"file": "so-diem.csv", "record_type": "gradebook", "title": "Sổ điểm 5A", "month": ""},
        {"file": "to-5a/khong-co.pdf", "record_type": "lesson_plan", "title": "Thiếu", "month": "9"},
        {"file": "../ngoai.pdf", "record_type": "lesson_plan", "title": "Ngoài", "month": "9"},
        {"file": "to-5a/ke-hoach-1.pdf", "record_type": "lesson_plan", "title": "Tháng sai", "month": "13"},
    ]
    with open(folder / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(
            fh,
            fieldnames=[
                "file",
                "school_code",
                "record_type",
                "title",
                "school_year",
                "subject",
                "grade",
                "month",
                "author",
            ],
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({"school_code": "THA", "school_year": "2025-2026", "subject": "Toán", "grade": "5", **row})


def test_import_reports_what_was_refused_and_why(
    settings: Settings, engine: Engine, world: World, tmp_path: Path
) -> None:
    folder = tmp_path / "nhap"
    _write_import(folder)
    result = hoso(settings, "import", str(folder), "--as", "gv.lan")
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "imported: 3" in out and "refused: 5" in out
    for needle in ("virus.pdf", "khong-co.pdf", "../ngoai.pdf", "month", "stray.pdf"):
        assert needle in out, (needle, out)
    with make_sessionmaker(engine)() as s:
        authors = {r.title: r.author.username for r in s.scalars(select(Record))}
    assert authors == {"KHBD Toán tuần 1": "gv.lan", "KHBD Toán tuần 2": "gv.minh", "Sổ điểm 5A": "gv.lan"}


def test_import_without_metadata_fails_clearly(
    settings: Settings, engine: Engine, world: World, tmp_path: Path
) -> None:
    result = hoso(settings, "import", str(tmp_path), "--as", "gv.lan")
    assert result.returncode == 1 and "metadata.csv" in result.stderr


def test_audit_verify_detects_tampering(settings: Settings, engine: Engine, world: World) -> None:
    intact = hoso(settings, "audit", "verify")
    assert intact.returncode == 0 and "intact" in intact.stdout
    with make_sessionmaker(engine)() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(details={"forged": True}))
        s.commit()
    broken = hoso(settings, "audit", "verify")
    assert broken.returncode == 1 and "event 2" in broken.stderr


def test_rebuild_db_into_an_empty_database(
    settings: Settings, engine: Engine, session: Session, world: World, tmp_path: Path
) -> None:
    folder = tmp_path / "nhap"
    _write_import(folder)
    hoso(settings, "import", str(folder), "--as", "gv.lan")
    empty = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'rebuilt.db'}"})
    assert hoso(empty, "db", "upgrade").returncode == 0
    result = hoso(empty, "rebuild-db")
    assert result.returncode == 0, result.stderr
    assert "3 records" in result.stdout
    refused = hoso(empty, "rebuild-db")
    assert refused.returncode == 1 and "empty database" in refused.stderr


def test_commands_refuse_an_unmigrated_database(settings: Settings, tmp_path: Path) -> None:
    fresh = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'new.db'}"})
    result = hoso(fresh, "audit", "verify")
    assert result.returncode == 1 and "hoso db upgrade" in result.stderr


def test_db_upgrade_seeds_once(settings: Settings, tmp_path: Path) -> None:
    fresh = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'new.db'}"})
    first, second = hoso(fresh, "db", "upgrade"), hoso(fresh, "db", "upgrade")
    from archive.seed import schedule_rows

    expected = len(schedule_rows())  # every row of archive/data/record_types.yaml
    assert f"record types added: {expected}" in first.stdout and "record types added: 0" in second.stdout
    from archive.db import make_engine

    engine = make_engine(fresh.resolved_database_url)
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == expected  # one event per seeded type
    engine.dispose()


def test_the_signing_secrets_come_from_settings_and_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    """HOSO_PASSWORD, HOSO_PKCS12_PASSWORD, HOSO_PKCS11_PIN, HOSO_CSC_TOKEN and HOSO_CSC_PIN are read by the
    settings (same names as before), as secret strings: a repr or a log of the settings never shows them."""
    from api.cli.keys import reveal

    secrets = {
        "HOSO_PASSWORD": "mat-khau-hoso",
        "HOSO_PKCS12_PASSWORD": "mat-khau-p12",
        "HOSO_PKCS11_PIN": "4711",
        "HOSO_CSC_TOKEN": "oauth-token",
        "HOSO_CSC_PIN": "",  # set but empty: used as it is (only an unset one is asked)
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    loaded = Settings()
    for name, value in secrets.items():
        assert reveal(getattr(loaded, name.removeprefix("HOSO_").lower())) == value
        if value:
            assert value not in repr(loaded) and value not in str(loaded.model_dump())
    monkeypatch.delenv("HOSO_PKCS11_PIN")
    assert Settings().pkcs11_pin is None
