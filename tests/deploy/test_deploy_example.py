"""deploy/ as documentation that runs: its units, its environment file and its nginx site, started as written.

The test reads `deploy/hoso.env`, replaces only what names this machine (the database, the S3 endpoint,
folders, addresses), takes each unit's `ExecStart=` as systemd would expand it, and starts two web units,
a worker and nginx with `deploy/nginx/hoso.conf` in front. Through the proxy: a plan uploaded at once
and a recording-style resumable upload in chunks (each chunk routed to the unit holding its spool),
both found by search once the worker has indexed them, a download with Range. Then `deploy/hoso-backup`
makes the month's full set and a day's incremental one, and the incremental restores into an empty
database and bucket with every hash checked.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from archive.db import make_engine
from flows.settings import Settings
from tests.api.test_server_process import wait_until
from tests.conftest import PG_URL, STARTUP_DEADLINE, free_port, require_tool, s3_settings
from tests.factories import PASSWORD, World, lesson_plan_pdf, meta

pytestmark = pytest.mark.skipif(not PG_URL, reason="the deployment's database is PostgreSQL (HOSO_TEST_DATABASE_URL)")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HOSO = "/opt/hoso/.venv/bin/hoso"
# what names one site's machines and secrets; everything else in hoso.env is used as written
SITE = {
    "HOSO_DATA_DIR",
    "HOSO_DATABASE_URL",
    "HOSO_S3_ENDPOINT",
    "HOSO_S3_BUCKET",
    "HOSO_S3_ACCESS_KEY",
    "HOSO_S3_SECRET_KEY",
    "HOSO_S3_SECURE",
    "HOSO_S3_REGION",
    "HOSO_PUBLIC_URL",
    "HOSO_TRUST_ROOTS",
    "HOSO_TSA_URL",
    "HOSO_BACKUP_DIR",
}


def read_env(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))


def exec_start(unit: str, instance: str, env: dict[str, str]) -> list[str]:
    """The unit's command as systemd runs it: %i is the instance, ${VAR} comes from the environment file."""
    line = next(x for x in (DEPLOY / "systemd" / unit).read_text().splitlines() if x.startswith("ExecStart="))
    words = shlex.split(line.removeprefix("ExecStart=").replace("%i", instance))
    words = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], w) for w in words]
    return [sys.executable, "-m", "api.cli", *words[1:]] if words[0] == HOSO else words


class Processes:
    def __init__(self, folder: Path) -> None:
        self.folder, self.running = folder, list[subprocess.Popen[bytes]]()

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        self.running.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for proc in reversed(self.running):
            proc.terminate()
        for proc in self.running:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def nginx_site(ports: tuple[int, int], listen: int) -> str:
    site = (DEPLOY / "nginx" / "hoso.conf").read_text()
    site = site.replace("127.0.0.1:8001", f"127.0.0.1:{ports[0]}").replace("127.0.0.1:8002", f"127.0.0.1:{ports[1]}")
    return site.replace("listen 80;", f"listen 127.0.0.1:{listen};")


def start_nginx(run: Processes, folder: Path, ports: tuple[int, int]) -> str:
    nginx = require_tool("nginx")
    listen = free_port()
    (folder / "hoso.conf").write_text(nginx_site(ports, listen))
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "".join(f"{kind}_temp_path {folder}/{kind};\n" for kind in kinds)
    (folder / "nginx.conf").write_text(
        f"user root;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\n{temp}include {folder}/hoso.conf;\n}}\n"
    )
    run.start("nginx", [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"], {})
    return f"http://127.0.0.1:{listen}"


@pytest.fixture
def site(settings: Settings, s3_server: str, tmp_path: Path) -> dict[str, str]:
    """hoso.env with this machine's names in place of the example's."""
    written = read_env(DEPLOY / "hoso.env")
    s3 = s3_settings(settings, s3_server)
    local = {
        "HOSO_DATA_DIR": str(settings.data_dir),
        "HOSO_DATABASE_URL": settings.resolved_database_url,
        "HOSO_S3_ENDPOINT": s3_server,
        "HOSO_S3_BUCKET": s3.s3_bucket,
        "HOSO_S3_ACCESS_KEY": s3.s3_access_key or "",
        "HOSO_S3_SECRET_KEY": s3.s3_secret_key or "",
        "HOSO_S3_SECURE": "false",
        "HOSO_S3_REGION": s3.s3_region or "",
        "HOSO_TRUST_ROOTS": settings.trust_roots,
        "HOSO_TSA_URL": settings.tsa_url or "",
        "HOSO_BACKUP_DIR": str(tmp_path / "backups"),
    }
    assert set(local) <= SITE and {"HOSO_SEARCH_ENGINE", "HOSO_SECRET_KEY", "HOSO_TRUSTED_PROXIES"} <= set(written)
    return {**written, **local, "HOSO_RETENTION_SWEEP_HOURS": "0"}


@pytest.fixture
def deployed(site: dict[str, str], world: World, tmp_path: Path) -> Iterator[tuple[str, Processes]]:
    run = Processes(tmp_path)
    try:
        migrate = subprocess.run(exec_start("hoso-migrate.service", "", site), env={**os.environ, **site}, timeout=300)
        assert migrate.returncode == 0
        ports = (free_port(), free_port())
        for port in ports:
            run.start(f"web-{port}", exec_start("hoso-web@.service", str(port), site), site)
        run.start("worker", exec_start("hoso-worker@.service", "1", site), site)
        for port in ports:
            up = wait_until(lambda p=port: answers(f"http://127.0.0.1:{p}/api/v1/health"), STARTUP_DEADLINE)
            assert up, run.log(f"web-{port}")
        proxy = start_nginx(run, tmp_path, ports)
        assert wait_until(lambda: answers(f"{proxy}/api/v1/health"), STARTUP_DEADLINE), run.log("nginx")
        site["HOSO_PUBLIC_URL"] = proxy
        yield proxy, run
    finally:
        run.stop()


def test_the_deploy_example_serves_indexes_and_backs_up_as_written(
    deployed: tuple[str, Processes], site: dict[str, str], tmp_path: Path
) -> None:
    proxy, run = deployed
    token = httpx.post(f"{proxy}/api/v1/auth/token", data={"username": "gv.lan", "password": PASSWORD}, timeout=60)
    assert token.status_code == 200, token.text
    lan = {"Authorization": f"Bearer {token.json()['access_token']}"}
    plan = lesson_plan_pdf("Kế hoạch bài dạy: Hình thang")
    once = httpx.post(
        f"{proxy}/api/v1/records",
        headers=lan,
        files={"metadata": (None, json.dumps(meta(title="Kế hoạch bài dạy: Hình thang"))), "file": ("khbd.pdf", plan)},
        timeout=120,
    )
    assert once.status_code == 201, once.text

    # a resumable upload through the proxy: every chunk reaches the unit that holds its spool
    chunked = lesson_plan_pdf("Kế hoạch bài dạy: Hình bình hành", pages=6)
    made = httpx.post(
        f"{proxy}/api/v1/uploads",
        headers=lan,
        json={"metadata": meta(title="Hình bình hành"), "filename": "khbd-2.pdf", "size": len(chunked)},
        timeout=60,
    )
    assert made.status_code == 201, made.text
    half, upload_id = len(chunked) // 2, made.json()["id"]
    for offset, part in ((0, chunked[:half]), (half, chunked[half:])):
        sent = httpx.patch(
            f"{proxy}/api/v1/uploads/{upload_id}",
            headers={**lan, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            content=part,
            timeout=120,
        )
        assert sent.status_code in (200, 204), sent.text
    record_two = httpx.get(f"{proxy}/api/v1/uploads/{upload_id}", headers=lan, timeout=60).json()["record_id"]
    assert record_two

    def found(q: str) -> set[str]:
        hits = httpx.get(f"{proxy}/api/v1/search", headers=lan, params={"q": q}, timeout=60).json()["hits"]
        return {hit["id"] for hit in hits}

    assert wait_until(lambda: once.json()["id"] in found("hinh thang"), STARTUP_DEADLINE), run.log("worker")
    assert wait_until(lambda: record_two in found("hinh binh hanh"), STARTUP_DEADLINE), run.log("worker")
    ranged = httpx.get(
        f"{proxy}/api/v1/records/{once.json()['id']}/content", headers={**lan, "Range": "bytes=0-99"}, timeout=60
    )
    assert ranged.status_code == 206 and ranged.content == plan[:100]

    # the month's full set, then a day's incremental one, as hoso-backup.service makes them
    wrapper = tmp_path / "hoso"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m api.cli "$@"\n')
    wrapper.chmod(0o755)
    for day in ("2026-12-01", "2026-12-02"):
        env = {**os.environ, **site, "HOSO_BIN": str(wrapper), "HOSO_BACKUP_DATE": day}
        made_set = subprocess.run([str(DEPLOY / "hoso-backup")], env=env, capture_output=True, text=True, timeout=600)
        assert made_set.returncode == 0, made_set.stdout + made_set.stderr
    backups = Path(site["HOSO_BACKUP_DIR"])
    assert sorted(p.name for p in backups.iterdir()) == ["2026-12-01-full", "2026-12-02-incr"]
    assert "đã có trong bản gốc" in made_set.stdout

    # restored on a second shape: an empty database and an empty bucket
    assert PG_URL is not None
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"hoso_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        second = {
            **site,
            "HOSO_DATABASE_URL": PG_URL.rsplit("/", 1)[0] + "/" + name,
            "HOSO_S3_BUCKET": f"hoso-{uuid.uuid4().hex[:12]}",
            "HOSO_DATA_DIR": str(tmp_path / "second"),
        }
        Path(second["HOSO_DATA_DIR"]).mkdir()
        env = {**os.environ, **second}
        assert subprocess.run(exec_start("hoso-migrate.service", "", second), env=env, timeout=300).returncode == 0
        restored = subprocess.run(
            [sys.executable, "-m", "api.cli", "restore", str(backups / "2026-12-02-incr")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "Toàn vẹn / intact" in restored.stdout
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
