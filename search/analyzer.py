"""Vietnamese text as both engines see it: NFC, lowercase, words, and an accent-folded twin.

Inspectors type with or without diacritics ("sổ điểm", "so diem"), so every word is indexed twice:
exact (lowercase, NFC) and folded (marks stripped, đ→d). A query matches the folded form and gets
a boost where the exact form matches too, so "Dương" ranks above "Đường" for "Dương" while "duong"
finds both. No stop words and no minimum length: "giáo án toán lớp 5" keeps "an", "toan" and "5".

Words are runs of letters and digits (`[^\\W_]+`), the rule of tantivy's `simple` tokenizer, so
the Python side (queries, Whoosh) and the Rust side (tantivy's index) cut text the same way. Text
is put in NFC before either sees it: a decomposed "ó" would otherwise split a word at its mark.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W_]+")
_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ß": "ss"})


def normalize(text: str) -> str:
    """NFC: the one form of Vietnamese text that hoso stores and indexes."""
    return unicodedata.normalize("NFC", text)


def fold(word: str) -> str:
    """Lowercase without diacritics: "Đường" → "duong" (what tantivy's ascii_fold does for Vietnamese)."""
    decomposed = unicodedata.normalize("NFD", word.lower().translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The exact words: NFC, lowercase, split on anything that is not a letter or a digit."""
    return WORD.findall(normalize(text).lower())


def folded_words(text: str) -> list[str]:
    return [fold(w) for w in words(text)]
