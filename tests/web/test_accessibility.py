"""Every page of every role in Chromium at a school PC's 1366×768 and a phone's 390×844, checked by
axe-core (from the npm registry, installed by `make test` into node_modules/): no serious or
critical WCAG 2.1 A/AA violation. A screenshot of each page at each width goes to test-output/web/
for a person to look at. One browser, one login per role, one tab reused for all its pages."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import World
from tests.web.test_browser import browser, log_in, server, settings, shot  # noqa: F401 (fixtures)
from tests.web.tour import build

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": (1366, 768), "phone": (390, 844)}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def axe_path() -> Path:
    if not AXE.exists():
        message = "axe-core is not installed (make test runs npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE


def violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical findings on the page as it stands, one line each."""
    page.add_script_tag(path=str(axe_path()))
    found = page.evaluate("async (tags) => (await axe.run(document, {runOnly: tags})).violations", TAGS)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {json.dumps([n['target'] for n in v['nodes']][:3])}"
        for v in found
        if v["impact"] in BLOCKING
    ]


def slug(address: str) -> str:
    """A file name for the page, the same on every run (a record's or batch's id is left out)."""
    address = re.sub(r"/[0-9a-f-]{36}|/\d+(?=/|$)", "/id", address)
    return re.sub(r"[^a-z0-9]+", "-", address.lower()).strip("-") or "goc"


def test_every_page_of_every_role_passes_axe_at_both_widths(
    client: TestClient,
    world: World,
    session: Session,
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    axe_path()
    tour = build(client, world, session)
    problems: list[str] = []
    checked = 0
    visits = [("", ["/dang-nhap"])] + list(tour.pages.items())
    for username, addresses in visits:
        width, height = WIDTHS["desktop"]
        # bypass_csp: the pages allow no inline script, and axe is injected as one
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)  # type: ignore[attr-defined]
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))  # noqa: B023
        if username:
            log_in(page, server, username)
        for width, (w, h) in WIDTHS.items():
            page.set_viewport_size({"width": w, "height": h})
            for address in addresses:
                answer = page.goto(server + address)
                expected = 404 if address == "/trang-khong-co" else 200
                assert answer is not None and answer.status == expected, (username, address, answer and answer.status)
                assert username == "" or "/dang-nhap" not in page.url, (username, address, page.url)  # still signed in
                problems += [f"{username or '-'} {address} {width}: {v}" for v in violations(page)]
                shot(page, f"a11y-{username or 'khach'}-{slug(address)}-{width}")
                checked += 1
        assert not errors, (username, errors)
        context.close()
    assert checked >= 60, checked
    assert not problems, "\n".join(problems)
