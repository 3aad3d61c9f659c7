"""A remote-signing service for tests: certomancer-csc-dummy (the CSC API v1) over HTTP on 127.0.0.1.

The dummy signs with the test PKI's keys ("hoso/principal" is the principal's credential) and, as
its README says, authenticates nothing. A real provider checks the PIN or OTP at
credentials/authorize, so a small middleware does that here; it also counts the calls, so a test
can show that one authorization covered the batch.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.pki import TestPKI

PIN = "246810"
OTP = "135791"


@dataclass
class CSCService:
    url: str
    calls: Counter[str] = field(default_factory=Counter)
    hashes_signed: list[int] = field(default_factory=list)

    __test__ = False


@contextmanager
def running_csc(pki: TestPKI, scal: int = 1, multisign: int = 10) -> Iterator[CSCService]:
    from aiohttp import web
    from csc_dummy.csc_dummy_server import CSCWithCertomancer, DummyServiceParams

    service = CSCService(url="")

    @web.middleware
    async def provider_checks(request: web.Request, handler: Any) -> web.StreamResponse:
        endpoint = request.path.removeprefix("/csc/v1/")
        service.calls[endpoint] += 1
        if endpoint == "credentials/authorize":
            body = await request.json()
            if body.get("PIN") != PIN and body.get("OTP") != OTP:
                refusal = {"error": "invalid_pin", "error_description": "Invalid PIN or OTP"}
                return web.json_response(refusal, status=400)
        if endpoint == "signatures/signHash":
            service.hashes_signed.append(len((await request.json()).get("hash", [])))
        return await handler(request)

    params = DummyServiceParams(hash_pinning_required=scal >= 2, multisign=multisign)
    csc = CSCWithCertomancer(pki.config, service_params=params)
    csc.app.middlewares.append(provider_checks)
    csc.register_routes()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-csc", daemon=True)
    thread.start()
    runner = web.AppRunner(csc.app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    service.url = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
