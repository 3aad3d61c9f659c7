"""Real components as fixtures: SQLite or PostgreSQL, the folder store or moto's S3 server over HTTP.

The database is SQLite unless HOSO_TEST_DATABASE_URL names a PostgreSQL server (CI runs the suite
both ways). Each test gets a fresh, migrated, seeded database and its own data folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import migrations as migrate
from archive import calendar, seed
from archive.calendar import VN_TIME
from archive.db import make_engine, make_sessionmaker
from archive.folder_store import FolderStore
from flows.settings import Settings
from tests import factories
from tests.pki import TestPKI, running_pki

if TYPE_CHECKING:
    from tests.softhsm import Token

PG_URL = os.environ.get("HOSO_TEST_DATABASE_URL")


# How long a test waits for a server or an agent it started to answer. Tests wait on the condition
# (it answers, or its process died), so a generous deadline costs nothing when things work and
# keeps a busy CI machine from failing a test that would have passed.
STARTUP_DEADLINE = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_tool(name: str) -> str:
    """Path of a system tool; a missing one skips on a laptop but fails under CI=true."""
    path = shutil.which(name)
    if path is None:
        message = f"system tool {name!r} is not installed (make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


# -- the clock ---------------------------------------------------------------------------------

# Every test runs at a pinned instant (archive.calendar keeps ticking from it), so no test depends
# on the day it runs. The date-sensitive tests (periods, school years, retention terms, the approval
# queue, the browser's first hour) run again at the dates where calendars break: a month's first
# day after its plans were submitted, and the school-year boundary (31 July / 1 August, Hanoi time,
# which is still 31 July in UTC), and the first day of classes.
DEFAULT_NOW = datetime(2026, 11, 16, 9, 0, tzinfo=VN_TIME)
SCHOOL_DATES = {
    "mid-november": datetime(2026, 11, 15, 10, 0, tzinfo=VN_TIME),
    "first-of-december": datetime(2026, 12, 1, 8, 0, tzinfo=VN_TIME),
    "last-of-july": datetime(2027, 7, 31, 23, 30, tzinfo=VN_TIME),
    "first-of-august": datetime(2027, 8, 1, 0, 30, tzinfo=VN_TIME),
    "first-of-september": datetime(2027, 9, 1, 7, 0, tzinfo=VN_TIME),
}


def on_dates(*names: str) -> pytest.MarkDecorator:
    """Run a test once per pinned date (all of SCHOOL_DATES by default); it takes the `clock` fixture."""
    chosen = names or tuple(SCHOOL_DATES)
    return pytest.mark.parametrize("clock", [SCHOOL_DATES[n] for n in chosen], ids=list(chosen), indirect=True)


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The pinned "now" of this test (DEFAULT_NOW unless `on_dates` parametrizes it)."""
    with calendar.pinned(getattr(request, "param", DEFAULT_NOW)) as at:
        yield at


# -- database ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database: a SQLite file to copy, or a fresh PostgreSQL database for this run."""
    if PG_URL:
        admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
        name = f"hoso_test_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
        migrate.upgrade(url)
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "hoso.db"
        migrate.upgrade(f"sqlite:///{path}")
        yield str(path)


@pytest.fixture
def settings(tmp_path: Path, database_template: str) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    if PG_URL:
        url = database_template
        engine = make_engine(url)
        with engine.begin() as conn:
            # a session an earlier test left open (idle in a transaction) would make TRUNCATE wait forever
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            tables = [
                r[0]
                for r in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
                )
            ]
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
        engine.dispose()
    else:
        shutil.copy(database_template, data / "hoso.db")
        url = f"sqlite:///{data / 'hoso.db'}"
    return Settings(
        data_dir=data,
        database_url=url,
        secret_key="test-secret-key-" + "x" * 32,
        max_upload_bytes=50 * 1024 * 1024,
        retention_sweep_hours=0,  # tests run the sweep and fixity themselves, when they mean to
        rendition_worker=False,  # LibreOffice runs only in the tests of renditions (tests/flows/test_renditions.py)
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.resolved_database_url)
    with make_sessionmaker(engine)() as session:
        seed.seed_record_types(session)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as session:
        yield session


# -- object stores -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server in a thread, spoken to over real HTTP (or a real endpoint if configured)."""
    endpoint = os.environ.get("HOSO_TEST_S3_ENDPOINT")
    if endpoint:
        yield endpoint
        return
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


def s3_settings(settings: Settings, endpoint: str) -> Settings:
    return settings.model_copy(
        update={
            "s3_endpoint": endpoint,
            "s3_bucket": f"hoso-{uuid.uuid4().hex[:12]}",
            "s3_access_key": os.environ.get("HOSO_TEST_S3_ACCESS_KEY", "testing"),
            "s3_secret_key": os.environ.get("HOSO_TEST_S3_SECRET_KEY", "testing"),
            "s3_secure": False,
            "s3_region": "us-east-1",
            "s3_part_size": 5 * 1024 * 1024,
        }
    )


@pytest.fixture(params=["folder", "s3"])
def any_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The same settings on each store kind, for tests that must hold on both."""
    if request.param == "s3":
        return s3_settings(settings, request.getfixturevalue("s3_server"))
    return settings


@pytest.fixture
def folder_store(settings: Settings) -> FolderStore:
    return FolderStore(settings.data_dir / "objects")


# -- the API -----------------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def world(session: Session) -> factories.World:
    """Two schools, a teacher and a principal at each, a clerk, and an administrator."""
    return factories.make_world(session)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with test-sized cost: production cost would dominate the suite's time."""
    from argon2 import PasswordHasher

    import archive.auth

    monkeypatch.setattr(archive.auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# -- a live test PKI (certomancer CA, TSA, OCSP, CRL over HTTP) and SoftHSM2 tokens, once per run --


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPKI]:
    with running_pki(tmp_path_factory.mktemp("pki")) as running:
        yield running


@pytest.fixture
def principal_certificate(session: Session, world: factories.World, pki: TestPKI) -> None:
    """The test PKI's "principal" certificate registered to ht.hoa, as if she had confirmed it once.

    Signing with a certificate nobody has registered asks its person to confirm it first
    (signing/ownership.py); tests about something else start after that confirmation."""
    factories.register_certificate(session, "ht.hoa", pki.cert_der("principal"))


@pytest.fixture
def school_seal(session: Session, world: factories.World, pki: TestPKI) -> None:
    """The test PKI's "school_seal" certificate registered as Trường Tiểu học An Bình's seal, as if its
    clerk had confirmed it once (signing/seal_ownership.py)."""
    factories.register_seal(session, "THA", pki.cert_der("school_seal"))


@pytest.fixture(scope="session")
def tokens(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Token]:
    """SoftHSM2 tokens: the principal's (HT-HOA) and one holding a revoked certificate."""
    from tests import softhsm  # it imports from this module

    return softhsm.create(tmp_path_factory.mktemp("softhsm"), pki, {"HT-HOA": "principal", "HT-REVOKED": "revoked"})
