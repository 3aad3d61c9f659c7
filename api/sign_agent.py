"""`hoso sign-agent`: the principal's USB token, offered to hoso's web page on 127.0.0.1 of their PC.

The page gets digests from the hoso server (`/approvals/{id}/prepare`), hands them to this agent,
and posts the signature values back (`/complete`). The document never reaches the agent and the
PIN never reaches the server. The PIN is asked once per batch: it opens a token session that
signs every digest of the batch and is closed when the page ends it or after it sits idle.

Who may call: only the configured hoso origin (the browser's `Origin` header, CORS allows only
it) and only through 127.0.0.1/localhost (the `Host` header, against DNS rebinding). Chrome's
Private Network Access preflight is answered for that origin alone.

The agent is its own small HTTP app on the principal's PC, so it lives in `api/` beside the server
(DESIGN §1: HTTP is api's job): it answers every error exactly as the server does (`api.errors`), and
the token sessions it keeps are signing's (`signing.client.TokenDigestSigner`).
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, Field

from api import errors
from archive.exceptions import Forbidden, InvalidInput, NotFound
from signing import token
from signing.client import TokenDigestSigner

AGENT = "hoso-sign-agent"
DEFAULT_PORT = 8765


class OpenIn(BaseModel):
    pin: str = Field(min_length=1, max_length=64)
    token_label: str | None = Field(default=None, max_length=64)
    key_label: str | None = Field(default=None, max_length=64)


class SignIn(BaseModel):
    digests: list[str] = Field(min_length=1, max_length=500, description="SHA-256 digests, hex")


@dataclass
class _Open:
    signer: TokenDigestSigner
    last_used: float


class Sessions:
    """Open token sessions by id; each closes itself after `idle` seconds unused."""

    def __init__(self, idle: float) -> None:
        self.idle = idle
        self.lock = threading.Lock()
        self.open: dict[str, _Open] = {}

    def add(self, signer: TokenDigestSigner) -> str:
        sid = uuid.uuid4().hex
        with self.lock:
            self.open[sid] = _Open(signer, time.monotonic())
        return sid

    def get(self, sid: str) -> TokenDigestSigner:
        self.sweep()
        with self.lock:
            found = self.open.get(sid)
            if found is None:
                raise NotFound(
                    "Phiên ký đã đóng hoặc hết hạn; hãy nhập lại mã PIN.",
                    "The signing session is closed or expired; enter the PIN again.",
                )
            found.last_used = time.monotonic()
            return found.signer

    def close(self, sid: str) -> None:
        with self.lock:
            found = self.open.pop(sid, None)
        if found:
            found.signer.close()

    def sweep(self) -> None:
        now = time.monotonic()
        with self.lock:
            stale = [sid for sid, o in self.open.items() if now - o.last_used > self.idle]
            closing = [self.open.pop(sid) for sid in stale]
        for o in closing:
            o.signer.close()

    def close_all(self) -> None:
        with self.lock:
            closing, self.open = list(self.open.values()), {}
        for o in closing:
            o.signer.close()


def create_agent(module: str, origin: str, port: int = DEFAULT_PORT, idle_seconds: float = 600) -> FastAPI:
    origin = origin.rstrip("/")
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
    sessions = Sessions(idle_seconds)
    app = FastAPI(title=AGENT, docs_url=None, redoc_url=None, openapi_url=None)
    errors.install(app)
    app.router.on_shutdown.append(sessions.close_all)

    def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        return response

    @app.middleware("http")
    async def only_the_hoso_page(request: Request, call_next: Any) -> Response:
        if request.headers.get("host") not in hosts:
            refused = Forbidden("Chỉ nhận yêu cầu qua 127.0.0.1.", "Only requests to 127.0.0.1 are accepted.")
            return errors.problem(refused)
        if request.headers.get("origin", "").rstrip("/") != origin:
            refused = Forbidden(
                f"Chỉ trang hoso {origin} được dùng thiết bị ký số này.",
                f"Only the hoso page at {origin} may use this token.",
            )
            return errors.problem(refused)
        if request.method == "OPTIONS":  # CORS and Private Network Access preflight
            response = Response(status_code=204)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Allow-Private-Network"] = "true"
            response.headers["Access-Control-Max-Age"] = "600"
            return cors(response)
        return cors(await call_next(request))

    @app.get("/status")
    def status() -> dict[str, Any]:
        """Is the agent running, and which tokens are plugged in (no PIN needed)."""
        return {"agent": AGENT, "origin": origin, "tokens": token.token_labels(module)}

    @app.post("/sessions", status_code=201)
    def open_session(body: OpenIn) -> dict[str, Any]:
        """The one PIN entry of a batch: log in to the token and keep the session for its digests."""
        signer = TokenDigestSigner(token.TokenSpec(module, body.token_label, body.key_label), body.pin)
        sid = sessions.add(signer)
        return {
            "session": sid,
            "certificate": base64.b64encode(signer.certificate.dump()).decode(),
            "chain": [base64.b64encode(c.dump()).decode() for c in signer.chain],
            "subject": signer.certificate.subject.human_friendly,
            "idle_seconds": idle_seconds,
        }

    @app.post("/sessions/{sid}/sign")
    def sign(sid: str, body: SignIn) -> dict[str, Any]:
        signer = sessions.get(sid)
        try:
            digests = [bytes.fromhex(d) for d in body.digests]
        except ValueError:
            raise InvalidInput("Mã băm phải ở dạng hex.", "Digests must be hex.") from None
        return {"signatures": [base64.b64encode(signer.sign_digest(d)).decode() for d in digests]}

    @app.delete("/sessions/{sid}", status_code=204)
    def close(sid: str) -> Response:
        sessions.close(sid)
        return Response(status_code=204)

    return app
