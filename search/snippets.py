"""Snippets made in Python, for an engine that does not fold Vietnamese itself (PostgreSQL).

PostgreSQL's `ts_headline` re-parses the stored text with its own configuration, so it would mark
"Điện" only for the query "điện", never for "dien"; tantivy and Whoosh mark words by their folded
form. Here the page's hits (≤ 100) are cut into words with the analyzer's own rule and a word is
marked when its folded form is one the query asked for: the same `<b>` as the other engines, the
rest escaped.
"""

from __future__ import annotations

import html
from collections.abc import Collection

from search import analyzer

LEAD = 40  # characters kept before the first marked word


def snippet(text: str, folded: Collection[str], max_chars: int) -> str:
    """The part of `text` around its first matching word, matches in <b>; "" when no word matches."""
    text = analyzer.normalize(text)
    spans = [m.span() for m in analyzer.WORD.finditer(text) if analyzer.fold(m.group()) in folded]
    if not spans:
        return ""
    start = max(0, spans[0][0] - LEAD)
    if start:
        space = text.find(" ", start, spans[0][0])  # begin at a word's start
        start = space + 1 if space != -1 else start
    end = min(len(text), start + max_chars)
    out, at = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append(html.escape(text[at:s]))
        out.append(f"<b>{html.escape(text[s:e])}</b>")
        at = e
    out.append(html.escape(text[at:end]))
    return "".join(out).strip()
