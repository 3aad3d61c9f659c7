"""Security headers on every answer, pages and API alike: one ASGI middleware, so no route can forget.

- Content-Security-Policy: the pages load scripts and styles only from /static (no inline script,
  no `on…=` attribute, no style attribute: grep the templates before adding one), talk only to this
  server and to `hoso sign-agent` on the PC, and may not be framed by anyone (`frame-ancestors
  'none'`: no clickjacking of "Ký duyệt"). JSON answers get `default-src 'none'`. Files served
  from the archive (a PDF, a video, the statistics chart) get only `frame-ancestors 'none'`: a
  stricter policy on a top-level PDF stops the browser's own PDF viewer. /docs loads Swagger UI
  from its CDN with inline script, so it has its own looser policy.
- X-Content-Type-Options: nosniff (an uploaded file is never run as a script or a page),
  X-Frame-Options: DENY for browsers older than frame-ancestors, Referrer-Policy: same-origin (a
  search or a record's address never leaks to another site).
- Strict-Transport-Security when the request came over HTTPS (directly, or through a trusted proxy
  that says so: api/proxies.py); never over plain HTTP, where it would mean nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request

from api.proxies import came_over_https

DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000"


def page_policy(sign_agent_url: str) -> str:
    agent = urlsplit(sign_agent_url)
    agent_origin = f"{agent.scheme}://{agent.netloc}" if agent.scheme and agent.netloc else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "media-src 'self'",
            f"connect-src 'self' {agent_origin}".strip(),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
FILE_POLICY = "frame-ancestors 'none'"
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)


class SecurityHeaders:
    def __init__(self, app: Any, sign_agent_url: str) -> None:
        self.app = app
        self.page = page_policy(sign_agent_url)

    def _policy(self, path: str, content_type: str) -> str:
        if path.startswith(DOCS_PATHS):
            return DOCS_POLICY
        if content_type.startswith("text/html"):
            return self.page
        if "json" in content_type:
            return DATA_POLICY
        return FILE_POLICY

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = came_over_https(Request(scope))
        path = str(scope.get("path", ""))

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", self._policy(path, headers.get("content-type", "")))
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)
