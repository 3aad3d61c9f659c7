"""The application factory: one FastAPI app per Settings, so tests can run several side by side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors
from api.routers import (
    approvals,
    auth,
    certificates,
    dispositions,
    dossiers,
    evidence,
    fixity,
    grants,
    holds,
    notifications,
    people,
    record_types,
    records,
    retention_schedule,
    schools,
    search,
    statistics,
    transfers,
    uploads,
)
from api.security_headers import SecurityHeaders
from api.web import (
    admin_pages,
    approval_pages,
    dossier_pages,
    evidence_pages,
    notification_pages,
    pages,
    retention_pages,
    stats_pages,
)
from api.web.i18n import LanguageMiddleware
from archive.db import make_engine, make_sessionmaker
from archive.schemas import HealthOut
from archive.storage import make_store
from flows.indexing import Describer
from flows.settings import Settings
from flows.state import AppState
from flows.worker import Worker
from search.engine import open_engine


def create_app(settings: Settings) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    store = make_store(settings)
    hoso = AppState(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=store,
        search=open_engine(settings.search_engine, settings.data_dir),
        describe=Describer(store, settings),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
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
        record_types,
        records,
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
        statistics,
        notifications,
    ):
        v1.include_router(module.router)

    @v1.get("/health", tags=["health"], response_model=HealthOut)
    def health() -> HealthOut:
        return HealthOut(status="ok")

    app.include_router(v1)
    app.include_router(pages.router)
    app.include_router(approval_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(evidence_pages.router)
    app.include_router(retention_pages.router)
    app.include_router(dossier_pages.router)
    app.include_router(stats_pages.router)
    app.include_router(notification_pages.router)
    app.mount("/static", StaticFiles(directory=str(Path(pages.__file__).parent / "static")), name="static")
    return app
