"""`hoso serve` and `hoso worker`: the web server (one or N processes) and the job runner alone.

One command runs everything on one machine: `hoso serve` is one process with the job worker
inside (`make run`). A deployment of several processes or machines runs `hoso serve --workers N
--no-worker` on each web node and `hoso worker` wherever the jobs should run, any number of them:
jobs are claimed with SKIP LOCKED and leases, the periodic work through a lease row
(`archive.leases`), so none runs twice.

`--workers N` uses uvicorn's own process supervisor rather than gunicorn with uvicorn workers:
since uvicorn 0.30 it restarts a child that died or stopped answering its health check, replaces
children one at a time on SIGHUP and stops them all on SIGTERM, which is what gunicorn was brought
in for; it needs no new dependency and no second configuration language. The children share one
listening socket (bound by the parent), each loads the app from `served_app` (uvicorn needs an
import string to start a process), and the one-time setup — the first admin, the spool and index
cleanup — runs once, in the parent, before any child starts.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from types import FrameType
from typing import Any

import typer
from fastapi import FastAPI

from api.cli.common import console, open_session
from archive import service
from archive.db import make_engine
from archive.storage import make_store
from flows.settings import Settings
from search.engine import open_engine


def _log_setup() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")  # hoso's own log


def served_app() -> FastAPI:
    """The app one server process serves (each of `--workers N` calls it; settings from the environment)."""
    from api.app import create_app

    _log_setup()
    return create_app(Settings())


def serve(
    host: str = typer.Option("127.0.0.1", help="Địa chỉ lắng nghe"),
    port: int = typer.Option(8000),
    workers: int = typer.Option(1, min=1, max=64, help="Số tiến trình web / HTTP processes"),
    worker: bool = typer.Option(
        True, "--worker/--no-worker", help="Chạy việc nền trong tiến trình web / run the job worker inside"
    ),
) -> None:
    """Serve the archive (API at /api/v1, docs at /docs)."""
    import uvicorn

    if not worker:
        os.environ["HOSO_INDEX_WORKER"] = "false"  # the children read their settings from the environment
    settings = Settings()
    with open_session(settings) as session:
        first = service.ensure_first_admin(session)
    store = make_store(settings)
    if hasattr(store, "clean_temp"):
        store.clean_temp()
    for stale in settings.tmp_dir.glob("*.upload"):
        stale.unlink(missing_ok=True)  # uploads cut off by a crash; never acknowledged
    for stale in settings.tmp_dir.glob("*.dossier.zip"):  # a package half-built when its process died;
        if time.time() - stale.stat().st_mtime > 3600:  # one being written (by a `hoso worker` beside) is newer
            stale.unlink(missing_ok=True)
    database = make_engine(settings.resolved_database_url)
    open_engine(settings.search_engine, settings.data_dir, database).clean_temp()  # an indexer killed mid-commit
    database.dispose()
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(f"[bold green]hoso[/] đang chạy tại / serving at [link]{url}/dang-nhap[/]  (API: {url}/docs)")
    if first:
        console.print(
            f"Tài khoản quản trị đầu tiên / first admin: [bold]{first.username}[/]  "
            f"mật khẩu dùng một lần / one-time password: [bold]{first.password}[/]\n"
            f"Đăng nhập tại {url}/dang-nhap, trang sẽ yêu cầu đổi mật khẩu / log in there and choose your own "
            "password (API: POST /api/v1/auth/password)"
        )
    sys.stdout.flush()
    # proxy_headers off: X-Forwarded-For is believed only from HOSO_TRUSTED_PROXIES (api/proxies.py).
    # On SIGTERM, requests still open after 5 s are cut (an upload is then not acknowledged, and stores
    # nothing); the worker was told to stop at the signal itself, so `hoso serve` ends within 10 s.
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "info", "access_log": False}
    # An idle keep-alive connection is kept 75 s, longer than a client or proxy keeps one to reuse
    # (nginx's upstream keepalive_timeout: 60 s). With uvicorn's 5 s, a request sent on a connection
    # just as the server closed it was lost (httpx ReadError; nginx 502 for a POST it will not retry):
    # bench/load.py's two-process run counted 2 in ~1300 requests.
    options.update(proxy_headers=False, timeout_graceful_shutdown=5, timeout_keep_alive=75)
    if workers > 1:
        uvicorn.run("api.cli.serve:served_app", factory=True, workers=workers, **options)
        return
    _log_setup()
    uvicorn.Server(uvicorn.Config(served_app(), **options)).run()


def run_worker() -> None:
    """Run the background jobs (indexing, retention, fixity, evidence packages) without a web server."""
    from flows.state import AppState
    from flows.worker import Worker

    settings = Settings()
    open_session(settings).close()  # refuses a database that is not migrated
    _log_setup()
    state = AppState.open(settings)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        state.stopping.set()
        state.wake()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner = Worker(state)
    runner.start()
    console.print(f"[bold green]hoso worker[/] {runner.name} đang chạy / running ({settings.search_engine})")
    sys.stdout.flush()
    while not state.stopping.wait(1):
        pass
    runner.stop()
    state.engine.dispose()
