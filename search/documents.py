"""What the index holds for one record: searchable text in three groups, and keyword facets.

The index is derived data: everything here comes from the database and the stored blob, so it can
be thrown away and rebuilt (`hoso reindex`). One document per record, keyed by the record id, and
replaced whenever the record changes (a new version, a signature, a decision).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Keyword fields: filters and facet counts. Values are kept verbatim (NFC); months and grades as text.
FACETS = (
    "school_code",
    "record_type",
    "school_year",
    "month",
    "subject",
    "grade",
    "class_name",
    "teacher",
    "status",
    "signed",
    "retention",
    "media",
)
# Searchable text groups, each indexed exact and folded; a word may match in any of them.
TEXT_GROUPS = ("title", "text", "meta")
BOOSTS = {"title": 3.0, "text": 1.0, "meta": 1.5}
EXACT_BOOST = 10.0  # the word with the diacritics as typed outranks its folded look-alikes anywhere


@dataclass(frozen=True)
class IndexDoc:
    id: str
    title: str
    text: str
    meta: str  # subject, teacher and school names, record type name, "lớp 5", "tháng 11"
    created: int  # epoch seconds, newest first when there is no query text
    school_code: str = ""
    record_type: str = ""
    school_year: str = ""
    month: str = ""
    subject: str = ""
    grade: str = ""
    class_name: str = ""
    teacher: str = ""
    status: str = ""
    signed: str = "no"
    retention: str = "active"
    media: str = ""

    def facets(self) -> dict[str, str]:
        values = asdict(self)
        return {name: values[name] for name in FACETS}
