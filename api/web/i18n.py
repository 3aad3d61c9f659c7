"""Vietnamese pages with an English switch.

The Vietnamese text in the templates is the message id (the pages are written for Vietnamese
users first); `i18n/en.json` maps each to English. Jinja's i18n extension calls `gettext` for
`{{ _("…") }}`, Python code calls `t("…")`, and an error carries both languages already (`said`).
The choice is a cookie read by a small ASGI middleware into a context variable, so every part
of one request (templates, form errors, filters) speaks the same language. A test checks that
every marked string has its English entry.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import cookie_parser

from archive.exceptions import HosoError

LANG_COOKIE = "hoso_lang"
LANGS = ("vi", "en")
CATALOGUE = Path(__file__).parent / "i18n" / "en.json"
_current: ContextVar[str] = ContextVar("hoso_lang", default="vi")


@cache
def english() -> dict[str, str]:
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def lang() -> str:
    return _current.get()


def gettext(text: str) -> str:
    return english().get(text, text) if _current.get() == "en" else text


def t(text: str, **values: Any) -> str:
    """A message in the request's language; `%(name)s` placeholders filled from `values`."""
    translated = gettext(text)
    return translated % values if values else translated


def said(error: HosoError) -> str:
    return error.en if _current.get() == "en" else error.vi


class LanguageMiddleware:
    """Sets the request's language from its cookie (Vietnamese unless the person chose English)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = "vi"
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                value_of = cookie_parser(value.decode("latin-1")).get(LANG_COOKIE)  # lenient, as Starlette's own
                if value_of in LANGS:
                    chosen = value_of
        token = _current.set(chosen)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
