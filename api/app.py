"""The application factory: one FastAPI app per Settings, so tests can run several side by side."""

from __future__ import annotations

import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors
from api.routers import (
    approvals,
    auth,
    certificates,
    copies,
    dispositions,
    dossiers,
    evidence,
    fixity,
    grants,
    holds,
    notifications,
    people,
    posters,
    previews,
    record_types,
    records,
    retention_schedule,
    schools,
    search,
    staff_import,
    statistics,
    transfers,
    units,
    uploads,
)
from api.security_headers import SecurityHeaders
from api.web import (
    admin_pages,
    approval_pages,
    compliance_pages,
    copy_pages,
    dossier_pages,
    evidence_pages,
    grant_pages,
    notification_pages,
    pages,
    people_pages,
    retention_pages,
    seal_pages,
    sso_pages,
    staff_pages,
    stats_pages,
    unit_pages,
    upload_pages,
)
from api.web.i18n import LanguageMiddleware
from archive.schemas import HealthOut
from flows.settings import Settings
from flows.state import AppState
from flows.worker import Worker


def stop_long_work_on_signals(hoso: AppState) -> None:
    """SIGTERM/SIGINT tell hoso's long work to stop at once, not after the open requests drained.

    Chained in front of uvicorn's own handlers (installed before the lifespan starts), so it holds
    for one process and for each of `hoso serve --workers N`'s; only the main thread may do this
    (a TestClient's lifespan runs elsewhere and skips it).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        before = signal.getsignal(sig)

        def handler(signum: int, frame: FrameType | None, before: Any = before) -> None:
            hoso.stopping.set()
            hoso.wake()
            if callable(before):
                before(signum, frame)

        signal.signal(sig, handler)


def create_app(settings: Settings) -> FastAPI:
    hoso = AppState.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop_long_work_on_signals(hoso)
        worker = Worker(hoso) if settings.index_worker else None
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()

    app = FastAPI(
        title="hoso — Hồ sơ số",
        description="Lưu trữ hồ sơ điện tử và chữ ký số cho trường học / School records and e-signature archive",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.hoso = hoso
    errors.install(app, pages=True)  # first: its 500 page sits inside the language and security-header middleware
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(SecurityHeaders, sign_agent_url=settings.sign_agent_url)
    v1 = APIRouter(prefix="/api/v1")
    for module in (
        auth,
        schools,
        people,
        staff_import,
        record_types,
        records,
        previews,
        posters,
        uploads,
        approvals,
        certificates,
        search,
        grants,
        evidence,
        retention_schedule,
        holds,
        fixity,
        dispositions,
        transfers,
        dossiers,
        copies,
        statistics,
        notifications,
        units,
    ):
        v1.include_router(module.router)

    @v1.get("/health", tags=["health"], response_model=HealthOut)
    def health() -> HealthOut:
        return HealthOut(status="ok")

    app.include_router(v1)
    app.include_router(pages.router)
    app.include_router(approval_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(grant_pages.router)
    app.include_router(unit_pages.router)
    app.include_router(people_pages.router)
    app.include_router(staff_pages.router)
    app.include_router(evidence_pages.router)
    app.include_router(copy_pages.router)
    app.include_router(seal_pages.router)
    app.include_router(retention_pages.router)
    app.include_router(dossier_pages.router)
    app.include_router(stats_pages.router)
    app.include_router(compliance_pages.router)
    app.include_router(sso_pages.router)
    app.include_router(notification_pages.router)
    app.include_router(upload_pages.router)
    app.mount("/static", StaticFiles(directory=str(Path(pages.__file__).parent / "static")), name="static")
    return app
