"""One search test suite, run on every engine (tantivy, Whoosh, and PostgreSQL when the tests have a
PostgreSQL server): Vietnamese with or without accents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from archive.db import make_engine
from search.documents import IndexDoc
from search.engine import FOLDER_ENGINES, SearchEngine, open_engine
from search.exceptions import BadQuery
from search.query import SearchQuery, checked
from tests.conftest import PG_URL

DOCS = [
    IndexDoc(
        id="r1",
        title="Kế hoạch bài dạy Toán lớp 5 — Phân số",
        text="Mục tiêu: học sinh so sánh phân số. Hoạt động khởi động: trò chơi ai nhanh hơn.",
        meta="Toán Nguyễn Thị Lan Trường Tiểu học An Bình Kế hoạch bài dạy (giáo án) lớp 5 5A tháng 11",
        created=1_000,
        school_code="THA",
        record_type="lesson_plan",
        school_year="2026-2027",
        month="11",
        subject="Toán",
        grade="5",
        class_name="5A",
        teacher="gv.lan",
        status="approved",
        signed="yes",
    ),
    IndexDoc(
        id="r2",
        title="Bài giảng Lịch sử: Chiến thắng Điện Biên Phủ",
        text="Chiến dịch Điện Biên Phủ năm 1954; đọc tư liệu về Đường lên Điện Biên.",
        meta="Lịch sử Trần Văn Minh Trường Tiểu học An Bình Kế hoạch bài dạy (giáo án) lớp 5 5B tháng 11",
        created=2_000,
        school_code="THA",
        record_type="lesson_plan",
        school_year="2026-2027",
        month="11",
        subject="Lịch sử",
        grade="5",
        class_name="5B",
        teacher="gv.minh",
        status="submitted",
    ),
    IndexDoc(
        id="r3",
        title="Sổ theo dõi và đánh giá học sinh (sổ điểm) lớp 4A",
        text="Họ và tên | Toán | Tiếng Việt\nDương Văn An | 9 | 8\nPhạm Thị Bình | 7 | 9",
        meta="Phạm Thu Trường Tiểu học An Bình Sổ theo dõi và đánh giá học sinh lớp 4 4A",
        created=3_000,
        school_code="THA",
        record_type="gradebook",
        school_year="2026-2027",
        grade="4",
        class_name="4A",
        teacher="gv.thu",
        status="draft",
    ),
    IndexDoc(
        id="r4",
        title="Giáo án Toán lớp 5 — Đường và đoạn thẳng",
        text="Vẽ đường thẳng; đoạn thẳng AB; Đường kính hình tròn.",
        meta="Toán Đỗ Văn Bình Trường Tiểu học Bình Minh Kế hoạch bài dạy (giáo án) lớp 5 5C tháng 10",
        created=4_000,
        school_code="THB",
        record_type="lesson_plan",
        school_year="2026-2027",
        month="10",
        subject="Toán",
        grade="5",
        class_name="5C",
        teacher="gv.binh",
        status="approved",
        signed="yes",
    ),
]


# PostgreSQL's engine needs the migrated test database (its table is truncated per test like every other).
ENGINES = (*FOLDER_ENGINES, "postgres") if PG_URL else FOLDER_ENGINES


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[Engine | None]:
    """The test database for the PostgreSQL engine (None for the folder engines, which need none)."""
    if "postgres" not in request.node.name:
        yield None
        return
    sql = make_engine(request.getfixturevalue("settings").resolved_database_url)
    yield sql
    sql.dispose()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path, database: Engine | None) -> Iterator[SearchEngine]:
    found = open_engine(request.param, tmp_path, database)
    found.upsert(DOCS, replace=False)
    yield found


def ids(engine: SearchEngine, text: str = "", **kwargs: object) -> list[str]:
    return [h.id for h in engine.search(checked(SearchQuery(text=text, **kwargs))).hits]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("giao an toan lop 5", {"r1", "r4"}),
        ("giáo án toán lớp 5", {"r1", "r4"}),
        ("Điện Biên", {"r2"}),
        ("dien bien", {"r2"}),
        ("DIỆN BIÊN", {"r2"}),  # a wrong accent still folds to the same word
        ("sổ điểm", {"r3"}),
        ("so diem", {"r3"}),
        ("phân số 5A", {"r1"}),
        ('"dien bien phu"', {"r2"}),
        ('"bien dien"', set()),  # a phrase keeps its order
        ("toan khongco", set()),  # every word must match
    ],
)
def test_vietnamese_with_or_without_accents(engine: SearchEngine, text: str, expected: set[str]) -> None:
    assert set(ids(engine, text)) == expected


def test_decomposed_input_matches_precomposed_text(engine: SearchEngine) -> None:
    import unicodedata

    assert set(ids(engine, unicodedata.normalize("NFD", "Điện Biên"))) == {"r2"}


def test_exact_diacritics_rank_first(engine: SearchEngine) -> None:
    assert ids(engine, "Dương")[0] == "r3"  # Dương Văn An, above Đường
    assert ids(engine, "Đường")[0] in {"r2", "r4"} and "r3" in ids(engine, "duong")


def test_short_words_and_numbers_are_kept(engine: SearchEngine) -> None:
    assert set(ids(engine, "an")) >= {"r1", "r3"}  # "An Bình", "Dương Văn An": no minimum length, no stop words
    assert ids(engine, "1954") == ["r2"]


def test_filters_scope_and_facets(engine: SearchEngine) -> None:
    assert set(ids(engine, "toan", filters={"school_code": ["THA"]})) == {"r1", "r3"}  # r3's table has Toán
    assert set(ids(engine, "", filters={"subject": ["Toán", "Lịch sử"]})) == {"r1", "r2", "r4"}
    assert set(ids(engine, "", filters={"signed": ["yes"], "grade": ["5"]})) == {"r1", "r4"}
    # a scope hides what the caller may not see, from the hits and from the counts
    scoped = engine.search(checked(SearchQuery(text="toan", scope=[{"school_code": ["THB"]}])))
    assert [h.id for h in scoped.hits] == ["r4"] and scoped.total == 1
    assert scoped.facets["school_code"] == {"THB": 1} and "THA" not in scoped.facets["school_code"]
    either = SearchQuery(scope=[{"school_code": ["THB"]}, {"school_code": ["THA"], "record_type": ["gradebook"]}])
    assert set(ids(engine, **either.__dict__)) == {"r3", "r4"}
    assert ids(engine, "", scope=[]) == []
    everything = engine.search(checked(SearchQuery()))
    assert everything.total == 4 and [h.id for h in everything.hits] == ["r4", "r3", "r2", "r1"]  # newest first
    assert everything.facets["subject"] == {"Toán": 2, "Lịch sử": 1}
    assert everything.facets["record_type"] == {"lesson_plan": 3, "gradebook": 1}


def test_pages_and_snippets(engine: SearchEngine) -> None:
    first = engine.search(checked(SearchQuery(text="truong", page=1, page_size=3)))
    second = engine.search(checked(SearchQuery(text="truong", page=2, page_size=3)))
    assert first.total == second.total == 4
    assert len(first.hits) == 3 and len(second.hits) == 1
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}
    hit = engine.search(checked(SearchQuery(text="dien bien"))).hits[0]
    assert "<b>Điện</b>" in hit.snippet and "<b>Biên</b>" in hit.snippet
    assert hit.title == "Bài giảng Lịch sử: Chiến thắng Điện Biên Phủ"


def test_snippets_escape_html(engine: SearchEngine) -> None:
    engine.upsert([IndexDoc(id="x", title="t", text="<script>alert(1)</script> độc hại", meta="", created=1)])
    snippet = engine.search(checked(SearchQuery(text="doc hai"))).hits[0].snippet
    assert "<script" not in snippet and "&gt;" in snippet and "<b>độc</b>" in snippet


def test_upsert_replaces_and_delete_removes(engine: SearchEngine) -> None:
    changed = IndexDoc(**{**DOCS[1].__dict__, "title": "Bài giảng Địa lý", "text": "Dãy Hoàng Liên Sơn"})
    engine.upsert([changed])
    assert ids(engine, "dien bien") == [] and ids(engine, "hoang lien son") == ["r2"]
    assert engine.count() == 4
    engine.delete(["r2"])
    assert ids(engine, "hoang lien son") == [] and engine.count() == 3
    engine.clear()
    assert engine.count() == 0


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (SearchQuery(text="a" * 501), "quá dài"),
        (SearchQuery(text=" ".join(f"w{i}" for i in range(40))), "quá nhiều từ"),
        (SearchQuery(filters={"password": ["x"]}), "Không lọc được"),
        (SearchQuery(page=0), "Trang"),
        (SearchQuery(page_size=1000), "Trang"),
        (SearchQuery(page=600, page_size=20), "10.000"),
    ],
)
def test_bad_queries_are_refused_with_a_message(query: SearchQuery, words: str) -> None:
    with pytest.raises(BadQuery) as refused:
        checked(query)
    assert words in refused.value.vi


@pytest.mark.parametrize("text", ['"unterminated', "AND OR NOT", "title:(x", "*?~^", "((", '""', "-", "đ"])
def test_query_syntax_never_fails(engine: SearchEngine, text: str) -> None:
    engine.search(checked(SearchQuery(text=text)))  # no operator syntax: anything typed runs


def test_index_survives_reopening(engine: SearchEngine, tmp_path: Path, database: Engine | None) -> None:
    again = open_engine(engine.name, tmp_path, database)
    assert again.count() == 4 and set(ids(again, "so diem")) == {"r3"}


KILLED_WRITER = """
import random, sys
from pathlib import Path
from search.documents import IndexDoc
from search.engine import open_engine
engine = open_engine(sys.argv[1], Path(sys.argv[2]))
words = "phân số toán lớp năm bài học sinh hoạt động".split()
engine.upsert(  # one commit at the very end, minutes away: the test kills it long before
    IndexDoc(id=f"k{n}", title="t", text=" ".join(random.choices(words, k=3000)), meta="", created=n)
    for n in range(10**6)
)
"""


@pytest.mark.parametrize("name", FOLDER_ENGINES)  # PostgreSQL rolls a killed writer's transaction back
def test_what_a_writer_killed_mid_commit_leaves_is_cleaned_and_the_index_still_answers(
    name: str, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import STARTUP_DEADLINE

    open_engine(name, tmp_path).upsert(DOCS, replace=False)
    folder = tmp_path / "index" / name
    committed = {p.name for p in folder.iterdir()}
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, name, str(tmp_path)])
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not ({p.name for p in folder.iterdir()} - committed) and time.monotonic() < deadline:
            assert writer.poll() is None
            time.sleep(0.05)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    left = {p.name for p in folder.iterdir()} - committed
    assert left, "the killed writer left nothing to clean"
    engine = open_engine(name, tmp_path)
    assert engine.clean_temp() >= 1
    assert {p.name for p in folder.iterdir()} - committed <= {"MAIN_WRITELOCK", ".tantivy-writer.lock"}
    assert engine.count() == len(DOCS) and ids(engine, "phan so")
    engine.upsert(DOCS[:1])  # and it still takes writes
    assert engine.count() == len(DOCS)
