"""No internal code reaches a person (issue #15 item 2): every page of every role, rendered over
HTTP, has its visible text scanned for enum values, record type codes, setting names, design
references and Python's True/False/None. Text marked lang="en" (the language switch) is not
Vietnamese text and is skipped; attribute text a person reads (placeholder, aria-label, title, alt,
a button's value) is scanned too."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import RecordStatus, RecordType, Role, UnitRole
from retention.models import DispositionState, FixityState, RetentionState
from search.documents import FACETS
from search.models import ExportState
from signing.compliance import MonthState
from signing.models import BatchState, Decision, SignState, StampPlace
from signing.validate import Verdict
from tests.factories import World
from tests.web.test_pages_http import page_login
from tests.web.tour import build

ENUMS = (Role, RecordStatus, Decision, BatchState, SignState, StampPlace, Verdict, RetentionState)
ENUMS_2 = (DispositionState, FixityState, ExportState, UnitRole, MonthState)  # a unit's roles, a month's state
ALWAYS = ("HOSO_", "DESIGN", "True", "False", "None")
SHOWN_ATTRS = {"placeholder", "aria-label", "title", "alt"}
PAGE_BUDGET = 60_000  # bytes of HTML + CSS a page may weigh (issue #15: they were 17 KB)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class VisibleText(HTMLParser):
    """The text a person sees (or hears from a screen reader), without scripts, styles and English."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: is its content hidden from the scan?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        hidden = (self.stack and self.stack[-1]) or tag in ("script", "style") or values.get("lang") == "en"
        if not hidden:
            self.parts += [v or "" for k, v in attrs if k in SHOWN_ATTRS]
            if tag == "input" and values.get("type") in ("submit", "button"):
                self.parts.append(values.get("value") or "")
        if tag not in VOID:
            self.stack.append(bool(hidden))

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def codes(session: Session) -> re.Pattern[str]:
    words = {m.value for enum in (*ENUMS, *ENUMS_2) for m in enum} | set(session.scalars(select(RecordType.code)))
    words |= {"yes", "no", "document", "sheet", *FACETS}  # the index's yes/no, media and field names
    words -= {"ok"}  # "OK" is not an internal code
    alternatives = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-])|" + "|".join(map(re.escape, ALWAYS)))


def test_no_page_of_any_role_shows_an_internal_code(client: TestClient, world: World, session: Session) -> None:
    tour = build(client, world, session)
    pattern = codes(session)
    found: list[str] = []
    sizes: dict[str, int] = {}
    client.cookies.clear()
    found += [f"/dang-nhap: {m}" for m in pattern.findall(visible(client.get("/dang-nhap").text))]
    for username, addresses in tour.pages.items():
        client.cookies.clear()
        assert page_login(client, username).status_code == 303, username
        for address in addresses:
            page = client.get(address, headers={"accept": "text/html"})  # as a browser asks
            assert page.status_code in (200, 404), (username, address, page.status_code)
            sizes[f"{username} {address}"] = len(page.content) + _stylesheets(client, page.text)
            text = visible(page.text)
            found += [f"{username} {address}: {m!r} in …{_around(text, m)}…" for m in set(pattern.findall(text))]
    assert not found, "\n".join(found)
    print("\n".join(f"{n:>7} {page}" for page, n in sorted(sizes.items(), key=lambda kv: -kv[1])))
    assert max(sizes.values()) < PAGE_BUDGET, max(sizes.items(), key=lambda kv: kv[1])


def _stylesheets(client: TestClient, html: str) -> int:
    """Bytes of the CSS a page links (fonts and images are not counted: the budget is before images)."""
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    return sum(len(client.get(href).content) for href in links)


def _around(text: str, word: str) -> str:
    at = text.find(word)
    return text[max(0, at - 50) : at + len(word) + 50]


def test_the_scanner_sees_codes_and_skips_what_is_not_shown() -> None:
    shown = visible('<p title="x">Trạng thái: submitted</p><script>var a="draft"</script><a lang="en">English</a>')
    assert "submitted" in shown and "draft" not in shown and "English" not in shown
    assert visible('<input type="submit" value="None"><br><b>ok</b>') == "None ok"


def test_the_menu_shows_what_the_role_does_and_the_home_page_the_next_step(
    client: TestClient, world: World, session: Session
) -> None:
    build(client, world, session)
    menus = {}
    for username in ("gv.lan", "tt.nam", "ht.hoa"):
        client.cookies.clear()
        page_login(client, username)
        home = client.get("/trang-chu").text
        menus[username] = set(re.findall(r'<nav aria-label="Chính">(.*?)</nav>', home, re.S)[0].split('href="')[1:])
        menus[username] = {link.split('"')[0] for link in menus[username]}
        if username == "ht.hoa":
            assert "1 kế hoạch chờ duyệt, tháng 11/2026" in visible(home) and "Duyệt ngay" in home
    assert "/tai-len" in menus["gv.lan"] and "/goi-chung-cu" not in menus["gv.lan"] and "/duyet" not in menus["gv.lan"]
    assert (
        "/tai-len" not in menus["tt.nam"] and "/goi-chung-cu" in menus["tt.nam"] and "/luu-tru" not in menus["tt.nam"]
    )
    assert {"/duyet", "/luu-tru", "/cap-quyen-thanh-tra"} <= menus["ht.hoa"] and "/quan-tri" not in menus["ht.hoa"]
    assert "/danh-muc-ho-so" in menus["ht.hoa"] and "/danh-muc-ho-so" not in menus["gv.lan"] | menus["tt.nam"]
    client.cookies.clear()
    page_login(client, "tt.nam")
    assert client.get("/tai-len", headers={"accept": "text/html"}).status_code == 403  # the page agrees with the menu
    client.cookies.clear()
    page_login(client, "gv.lan")
    assert client.get("/goi-chung-cu", headers={"accept": "text/html"}).status_code == 403
