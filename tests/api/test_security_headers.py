"""Security headers on every answer (api/security_headers.py), and pages that live under the policy."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.factories import World, login

TEMPLATES = Path(__file__).parents[2] / "api" / "web" / "templates"


def _common(headers: object) -> None:
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert headers["referrer-policy"] == "same-origin"  # type: ignore[index]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]  # type: ignore[index]


def test_pages_api_answers_errors_and_files_all_carry_the_headers(client: TestClient, world: World) -> None:
    page = client.get("/dang-nhap")
    _common(page.headers)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "connect-src 'self' http://127.0.0.1:8765" in policy  # the approval page reaches hoso sign-agent
    assert "strict-transport-security" not in page.headers  # plain HTTP: HSTS would mean nothing

    for answer in (
        client.get("/api/v1/health"),
        client.get("/api/v1/records"),  # 401
        client.get("/api/v1/people/0", headers=login(client, "admin1")),  # 422
        client.get("/static/hoso.css"),
        client.get("/khong-co-trang-nay"),
    ):
        _common(answer.headers)
    assert client.get("/api/v1/health").headers["content-security-policy"].startswith("default-src 'none'")


def test_hsts_only_over_https_and_forwarded_proto_only_from_a_trusted_proxy(client: TestClient) -> None:
    direct = TestClient(client.app, base_url="https://testserver")
    assert direct.get("/dang-nhap").headers["strict-transport-security"].startswith("max-age=")
    forged = client.get("/dang-nhap", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in forged.headers
    hoso = client.app.state.hoso  # type: ignore[attr-defined]
    hoso.settings = hoso.settings.model_copy(update={"trusted_proxies": "testclient"})
    proxied = client.get("/dang-nhap", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" in proxied.headers


def test_no_template_needs_unsafe_inline() -> None:
    """The policy allows no inline script, event attribute or style attribute: a template with one
    would silently stop working in the browser. (A JSON data block is not script and is allowed.)"""
    found = []
    for template in sorted(TEMPLATES.glob("*.html")):
        html = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" not in tag and 'type="application/json"' not in tag:
                found.append(f"{template.name}: inline {tag}")
        found += [f"{template.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", html)]
        found += [f"{template.name}: {m}" for m in re.findall(r"\sstyle\s*=|<style\b", html)]
    assert not found, found
