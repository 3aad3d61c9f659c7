"""The English switch: every marked Vietnamese string has its English entry, and the pages use them."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.web import (
    dossier_pages,
    forms,
    grant_pages,
    labels,
    menu,
    rendering,
    retention_pages,
    seal_pages,
    unit_pages,
)
from api.web.i18n import CATALOGUE
from archive.notifications import texts as notification_texts
from flows.renditions import ocr as ocr_run
from flows.renditions import recording
from flows.renditions import run as rendition_run
from signing import compliance, validate
from tests.factories import World
from tests.web.test_pages_http import page_login

WEB = Path(rendering.__file__).parent
LITERAL = r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def marked() -> set[str]:
    """Every string the pages translate: templates' _("…"), Python's t("…"), scripts' hosoT("…"), label maps."""
    found: set[str] = set()
    for path in (WEB / "templates").glob("*.html"):
        found |= {ast.literal_eval(m) for m in re.findall(r"\b_\(\s*" + LITERAL, path.read_text())}
    for path in (p for p in WEB.glob("*.py") if p.name != "i18n.py"):
        found |= {ast.literal_eval(m) for m in re.findall(r"\bt\(\s*" + LITERAL, path.read_text())}
    for path in (WEB / "static").glob("*.js"):
        found |= {ast.literal_eval(m) for m in re.findall(r"\bhosoT\(\s*" + LITERAL, path.read_text())}
    for table in (
        rendering.ROLE_VI,
        rendering.FACET_VI,
        rendering.STATUS_VI,
        rendering.ACTION_VI,
        rendering.DECISION_VI,
        rendering.BATCH_VI,
        rendering.STAMP_PLACE_VI,
        rendering.KIND_VI,
        retention_pages.DISPOSITION_VI,
        dossier_pages.STATE_VI,
        compliance.STATE_VI,
        validate.CHANGES_VI,
        labels.BADGE_VI,
        labels.RETENTION_VI,
        labels.SIGNED_VI,
        labels.MEDIA_VI,
        labels.UNIT_KIND_VI,
        labels.UNIT_ROLE_VI,
        {e.href: e.label for e in menu.MENU},
        {"yes": "Có", "no": "Không"},  # labels.yes_no
        notification_texts.KIND_VI,
    ):
        found |= set(table.values())
    summaries = re.findall(r'return "([^"]+)"', Path(validate.__file__).read_text())
    found |= {s for s in summaries if s.startswith(("Chữ ký", "Dấu thời gian"))} | {"Dấu thời gian tài liệu hợp lệ"}
    found |= {vi for vi, _en in rendition_run.REASONS}  # why a rendition failed, shown on the record page
    found |= {vi for vi, _en in recording.REASONS}  # why a recording's poster or copy failed
    found |= {vi for vi, _en in ocr_run.REASONS}  # why a scan's PDF/A failed
    return found | {
        retention_pages.REFUSED,
        dossier_pages.REFUSED,
        forms.CSRF_REFUSED,
        grant_pages.REFUSED,
        seal_pages.REFUSED,
        unit_pages.NO_UNIT,
    }


def test_every_marked_string_has_english_with_the_same_placeholders() -> None:
    english = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    wanted = marked()
    missing = sorted(wanted - set(english))
    assert not missing, f"{len(missing)} strings lack English in {CATALOGUE.name}:\n" + "\n".join(missing)
    unused = sorted(set(english) - wanted)
    assert not unused, "entries no page uses any more:\n" + "\n".join(unused)
    for vi, en in english.items():
        assert en.strip() and en != vi or vi.isascii(), vi
        assert set(PLACEHOLDER.findall(vi)) == set(PLACEHOLDER.findall(en)), vi


def test_switching_to_english_and_back(client: TestClient, world: World) -> None:
    login = client.get("/dang-nhap")
    assert 'lang="vi"' in login.text and "Tên đăng nhập" in login.text
    switched = client.get("/ngon-ngu", params={"lang": "en", "next": "/dang-nhap"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/dang-nhap"
    english = client.get("/dang-nhap")
    assert '<html lang="en">' in english.text and "Username" in english.text and "Tên đăng nhập" not in english.text
    wrong = page_login(client, "ht.hoa", "sai-mat-khau-1")
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text and "mật khẩu" not in wrong.text.lower()
    refused = client.post("/dang-nhap", data={"username": "ht.hoa", "password": "x", "csrf_token": "x"})
    assert refused.status_code == 403 and refused.text == "The login form expired; reload the page."
    page_login(client, "ht.hoa")
    home = client.get("/trang-chu").text
    assert "Hello, " in home and "Principal" in home and 'id="hoso-i18n"' in home
    back = client.get("/ngon-ngu", params={"lang": "vi", "next": "//evil.example/"}, follow_redirects=False)
    assert back.headers["location"] == "/"  # never sends anyone off-site
    for sneaky in ("/\\evil.example/", "/\t/evil.example/", "https://evil.example/", "/%0a/x\r\n"):
        moved = client.get("/ngon-ngu", params={"lang": "vi", "next": sneaky}, follow_redirects=False)
        assert moved.headers["location"] == "/", sneaky  # a browser reads the first two as //evil.example
    kept = client.get("/ngon-ngu", params={"lang": "vi", "next": "/tim-kiem?q=phan+so"}, follow_redirects=False)
    assert kept.headers["location"] == "/tim-kiem?q=phan+so"
    assert "Xin chào" in client.get("/trang-chu").text


def test_another_sites_malformed_cookie_does_not_lose_the_language(client: TestClient, world: World) -> None:
    page = client.get("/dang-nhap", headers={"Cookie": 'bad cookie;;; =x; hoso_lang=en; other="unterminated'})
    assert page.status_code == 200 and '<html lang="en">' in page.text
