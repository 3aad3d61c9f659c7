"""Search: indexing throughput and query latency of hoso's engines beside the raw library.

Synthetic but realistic Vietnamese records: Zipf-distributed vocabulary from lesson-plan language,
teacher names, subjects, grades, schools. For each engine, hoso's layer (IndexDoc → engine,
query checked and cut into exact/folded terms, scope, facets, snippets) is timed beside the raw
library doing the nearest same work on the same index (plain term queries on the folded fields,
no facets, no snippets): the ratio is the cost of hoso's layer. Queries: 2–3 words, with and
without accents, with and without a facet filter.

Goals (issue #5): tantivy at 1,000,000 records: p95 ≤ 20 ms, indexing ≥ 5,000 docs/s; Whoosh
measured at 100,000 records beside it. Issue #17: the PostgreSQL engine (shared by every node) beside
tantivy at the same size and beside raw SQL (the same GIN match, `LIMIT 20`, no rank, no count, no
facets, no snippets), when a server is named (HOSO_BENCH_DATABASE_URL, else HOSO_TEST_DATABASE_URL;
a scratch database is created, migrated and dropped).

    make bench       # or: .venv/bin/python bench/search.py --tantivy-docs 1000000 --whoosh-docs 100000
    .venv/bin/python bench/search.py --tantivy-docs 0 --whoosh-docs 0 --postgres-docs 100000
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search import analyzer  # noqa: E402
from search.documents import IndexDoc  # noqa: E402
from search.engine import open_engine  # noqa: E402
from search.query import SearchQuery, checked  # noqa: E402

VOCABULARY = (
    "học sinh giáo viên hoạt động bài học mục tiêu kiến thức kỹ năng phẩm chất năng lực thảo luận nhóm "
    "trò chơi khởi động luyện tập vận dụng đánh giá nhận xét phân số số thập phân hình tam giác hình tròn "
    "diện tích chu vi đo độ dài bảng nhân chia đọc hiểu tập làm văn chính tả luyện từ và câu kể chuyện "
    "lịch sử địa lý điện biên phủ thủ đô hà nội sông hồng đồng bằng miền núi khoa học nước không khí "
    "thực vật động vật sức khỏe an toàn giao thông âm nhạc mỹ thuật tiếng anh tin học công nghệ thể dục "
    "phiếu học tập sách giáo khoa đồ dùng dạy học máy chiếu trực tuyến video tiết dạy dự giờ rút kinh nghiệm"
)
WORDS = VOCABULARY.split()
SUBJECTS = ["Toán", "Tiếng Việt", "Lịch sử", "Địa lý", "Khoa học", "Tiếng Anh", "Tin học", "Âm nhạc", "Mỹ thuật"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Dương"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Hoa", "Hùng", "Lan", "Linh", "Minh", "Nam", "Thu", "Tuấn", "Yến", "Đường"]
TYPES = ["lesson_plan"] * 6 + ["gradebook", "lesson_recording", "department_minutes", "online_teaching_evidence"]
QUERIES = [
    "phân số lớp 5",
    "phan so lop 5",
    "điện biên phủ",
    "dien bien phu",
    "thảo luận nhóm",
    "thao luan nhom",
    "diện tích hình tròn",
    "dien tich hinh tron",
    "đọc hiểu",
    "doc hieu khoi dong",
]


def records(n: int, seed: int = 7) -> Iterator[IndexDoc]:
    rng = random.Random(seed)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(WORDS))))  # Zipf
    schools = [f"7900{i:04d}" for i in range(200)]
    teachers = [f"{rng.choice(FAMILY)} Văn {rng.choice(GIVEN)}" for _ in range(3000)]
    for i in range(n):
        subject = rng.choice(SUBJECTS)
        grade = rng.randint(1, 5)
        teacher = rng.randrange(len(teachers))
        body = " ".join(rng.choices(WORDS, cum_weights=weights, k=rng.randint(40, 120)))
        title = f"Kế hoạch bài dạy {subject} lớp {grade} — {' '.join(rng.choices(WORDS, cum_weights=weights, k=4))}"
        month = rng.choice([9, 10, 11, 12, 1, 2, 3, 4, 5])
        yield IndexDoc(
            id=f"r{i:08d}",
            title=title,
            text=body,
            meta=f"{subject} {teachers[teacher]} lớp {grade} {grade}A tháng {month}",
            created=1_700_000_000 + i,
            school_code=schools[i % len(schools)],
            record_type=rng.choice(TYPES),
            school_year="2025-2026",
            month=str(month),
            subject=subject,
            grade=str(grade),
            class_name=f"{grade}A",
            teacher=f"gv{teacher}",
            status=rng.choice(["approved", "approved", "submitted", "draft"]),
            signed=rng.choice(["yes", "no"]),
        )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def raw_query(engine_name: str, engine: object, text: str, school: str | None) -> Callable[[], object]:
    folded = analyzer.folded_words(text)
    if engine_name == "postgres":
        from sqlalchemy import text as sql

        database = engine.database  # type: ignore[attr-defined]
        where = "folded @@ to_tsquery('simple', :q)" + (" AND school_code = :school" if school else "")
        statement = sql(f"SELECT id FROM search_documents WHERE {where} LIMIT 20")

        def run_sql() -> object:
            with database.connect() as conn:
                return conn.execute(statement, {"q": " & ".join(folded), "school": school}).all()

        return run_sql
    if engine_name == "tantivy":
        import tantivy
        from tantivy import Occur, Query

        e = engine  # TantivyEngine
        schema = e.schema  # type: ignore[attr-defined]

        def run() -> object:
            musts = [
                (
                    Occur.Must,
                    Query.boolean_query(
                        [(Occur.Should, Query.term_query(schema, f, w)) for f in ("title_f", "text_f", "meta_f")]
                    ),
                )
                for w in folded
            ]
            if school:
                musts.append((Occur.Must, Query.term_query(schema, "school_code", school)))
            searcher = e.index.searcher()  # type: ignore[attr-defined]
            return searcher.search(Query.boolean_query(musts), 20, count=True).hits

        del tantivy
        return run
    from whoosh import query

    def run_whoosh() -> object:
        q = query.And([query.Or([query.Term(f, w) for f in ("title_f", "text_f", "meta_f")]) for w in folded])
        if school:
            q = query.And([q, query.Term("school_code", school)])
        with engine.ix.searcher() as s:  # type: ignore[attr-defined]
            return [hit["id"] for hit in s.search(q, limit=20)]

    return run_whoosh


@contextlib.contextmanager
def scratch_database(engine_name: str) -> Iterator[object]:
    """None for a folder engine; for postgres a fresh migrated database, dropped afterwards."""
    if engine_name != "postgres":
        yield None
        return
    from sqlalchemy import text as sql

    import migrations
    from archive.db import make_engine

    server = os.environ.get("HOSO_BENCH_DATABASE_URL") or os.environ["HOSO_TEST_DATABASE_URL"]
    admin = make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    name = f"hoso_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sql(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        migrations.upgrade(url)
        database = make_engine(url)
        yield database
        database.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench(engine_name: str, n: int, rounds: int) -> float:
    """Index n records, time the queries; returns hoso's p95 over every query (ms)."""
    with (
        tempfile.TemporaryDirectory(prefix=f"hoso-bench-{engine_name}-") as tmp,
        scratch_database(engine_name) as database,
    ):
        engine = open_engine(engine_name, Path(tmp), database)  # type: ignore[arg-type]
        source = records(n)
        start = time.perf_counter()
        indexed = 0
        chunk = {"tantivy": 20_000, "postgres": 2_000}.get(engine_name, 5_000)
        while batch := list(itertools.islice(source, chunk)):
            engine.upsert(batch, replace=False)
            indexed += len(batch)
        seconds = time.perf_counter() - start
        print(f"\n{engine_name}: {indexed:,} records indexed in {seconds:.1f} s = {indexed / seconds:,.0f} docs/s")
        print(f"  {'query':32} {'hoso p50':>9} {'p95':>7} {'raw p50':>8} {'p95':>7} {'ratio p50':>9}")
        all_hoso, all_raw = [], []
        for text, school in itertools.product(QUERIES, (None, "79000042")):
            filters = {"school_code": [school]} if school else {}
            scope = [{"school_code": [f"7900{i:04d}" for i in range(200)]}]
            q = checked(SearchQuery(text=text, filters=filters, scope=scope))
            engine.search(q)  # warm
            ours = timed(lambda q=q: engine.search(q), rounds)
            raw_fn = raw_query(engine_name, engine, text, school)
            raw_fn()
            raw = timed(raw_fn, rounds)
            all_hoso += ours
            all_raw += raw
            label = text + (" +school" if school else "")
            ratio = statistics.median(ours) / max(statistics.median(raw), 1e-6)
            print(
                f"  {label:32} {statistics.median(ours):8.2f}ms {percentile(ours, 95):6.2f}ms "
                f"{statistics.median(raw):7.2f}ms {percentile(raw, 95):6.2f}ms {ratio:8.1f}×"
            )
        p50, p95 = statistics.median(all_hoso), percentile(all_hoso, 95)
        print(
            f"  all queries: hoso p50 {p50:.2f} ms, p95 {p95:.2f} ms (with facets and snippets); "
            f"raw p50 {statistics.median(all_raw):.2f} ms, p95 {percentile(all_raw, 95):.2f} ms; "
            f"ratio p95 {p95 / max(percentile(all_raw, 95), 1e-6):.1f}×"
        )
        if engine_name == "postgres":
            from sqlalchemy import text as sql

            with database.connect() as conn:  # type: ignore[attr-defined]
                size = conn.execute(sql("SELECT pg_size_pretty(pg_total_relation_size('search_documents'))")).scalar()
            print(f"  table and indexes: {size}")
        return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tantivy-docs", type=int, default=1_000_000)
    parser.add_argument("--whoosh-docs", type=int, default=100_000)
    parser.add_argument("--postgres-docs", type=int, default=100_000, help="0: skip (also without a server)")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print("Search benchmark: hoso's engine layer beside the raw library, same index, same queries")
    if args.tantivy_docs:
        bench("tantivy", args.tantivy_docs, args.rounds)
    if args.whoosh_docs:
        bench("whoosh", args.whoosh_docs, max(3, args.rounds // 4))
    server = os.environ.get("HOSO_BENCH_DATABASE_URL") or os.environ.get("HOSO_TEST_DATABASE_URL")
    if args.postgres_docs and server:
        # tantivy again at PostgreSQL's size, so the two engines' figures sit side by side
        beside = bench("tantivy", args.postgres_docs, args.rounds) if args.postgres_docs != args.tantivy_docs else None
        shared = bench("postgres", args.postgres_docs, max(3, args.rounds // 2))
        if beside:
            print(f"\npostgres / tantivy at {args.postgres_docs:,} records: p95 {shared / beside:.1f}×")


if __name__ == "__main__":
    main()
