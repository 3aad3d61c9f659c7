"""`hoso serve`: the archive's web server, with the first admin's one-time password on first start."""

from __future__ import annotations

import logging
import sys
from types import FrameType

import typer

from api.cli.common import console, open_session
from archive import service
from archive.storage import make_store
from flows.settings import Settings
from search.engine import open_engine


def serve(host: str = typer.Option("127.0.0.1", help="Địa chỉ lắng nghe"), port: int = typer.Option(8000)) -> None:
    """Serve the archive (API at /api/v1, docs at /docs)."""
    import uvicorn

    from api.app import create_app

    settings = Settings()
    with open_session(settings) as session:
        first = service.ensure_first_admin(session)
    store = make_store(settings)
    if hasattr(store, "clean_temp"):
        store.clean_temp()
    for stale in settings.tmp_dir.glob("*.upload"):
        stale.unlink(missing_ok=True)  # uploads cut off by a crash; never acknowledged
    open_engine(settings.search_engine, settings.data_dir).clean_temp()  # an indexer killed mid-commit
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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")  # hoso's own log
    app = create_app(settings)
    # proxy_headers off: X-Forwarded-For is believed only from HOSO_TRUSTED_PROXIES (api/proxies.py).
    # On SIGTERM, requests still open after 5 s are cut (an upload is then not acknowledged, and stores
    # nothing); the worker was told to stop at the signal itself, so `hoso serve` ends within 10 s.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", access_log=False, proxy_headers=False, timeout_graceful_shutdown=5
    )
    hoso = app.state.hoso

    class StoppingServer(uvicorn.Server):
        """Tells hoso's long work to stop the moment SIGTERM arrives, not after the requests drained."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            hoso.stopping.set()
            hoso.wake()
            super().handle_exit(sig, frame)

    StoppingServer(config).run()
