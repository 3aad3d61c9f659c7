"""The compliance dashboard at a province's size: one Sở, 20 Phòng, 1000 schools (issue #17 item 3).

Synthetic rows (SQLite, the embedded default; `--database-url` for PostgreSQL): 30 teachers a
school, one approval batch a school for the month with 20 plans, half the schools signed, one
recording per teacher. Times `signing.compliance.compute` for the Sở (every school) and, as the
baseline, the one raw GROUP BY of the approval items by school it cannot do without; prints both
and the ratio. The dashboard must stay a few grouped queries: a query per school would show here
as a ratio in the hundreds.

    .venv/bin/python bench/compliance.py --schools 1000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402

import migrations as migrate  # noqa: E402
from archive import seed  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.models import Membership, OrgUnit, Person, Record, RecordType, School  # noqa: E402
from signing import compliance  # noqa: E402
from signing.models import ApprovalBatch, ApprovalItem  # noqa: E402

PERIOD, YEAR, NOW = "2026-11", "2026-2027", datetime(2026, 11, 16, tzinfo=UTC)


def fill(session, schools: int, teachers: int, plans: int) -> Person:  # type: ignore[no-untyped-def]
    seed.seed_record_types(session)
    types = {code: tid for code, tid in session.execute(select(RecordType.code, RecordType.id))}
    session.execute(insert(OrgUnit), [{"id": 1, "kind": "so", "code": "SGD", "name": "Sở", "created_at": NOW}])
    session.execute(
        insert(OrgUnit),
        [
            {"id": 2 + p, "kind": "phong", "code": f"PGD{p}", "name": f"Phòng {p}", "parent_id": 1, "created_at": NOW}
            for p in range(20)
        ],
    )
    session.execute(
        insert(School),
        [
            {"id": s + 1, "code": f"S{s:04d}", "name": f"Trường {s}", "unit_id": 2 + s % 20, "created_at": NOW}
            for s in range(schools)
        ],
    )
    people = [{"id": 1, "username": "so.admin", "full_name": "Quản trị", "created_at": NOW}]
    people += [
        {"id": 2 + i, "username": f"gv{i}", "full_name": f"GV {i}", "created_at": NOW}
        for i in range(schools * teachers)
    ]
    session.execute(insert(Person), people)
    session.execute(insert(Membership), [{"person_id": 1, "school_id": None, "role": "admin", "created_at": NOW}])
    session.execute(
        insert(Membership),
        [
            {"person_id": 2 + i, "school_id": i // teachers + 1, "role": "teacher", "created_at": NOW}
            for i in range(schools * teachers)
        ],
    )
    records, items, batches = [], [], []
    for s in range(schools):
        batch = f"b{s}"
        batches.append(
            {
                "id": batch,
                "school_id": s + 1,
                "period": PERIOD,
                "round": 1,
                "state": "signed" if s % 2 else "open",
                "created_at": NOW,
            }
        )
        for n in range(plans):
            rid = f"r{s}-{n}"
            author = 2 + s * teachers + n % teachers
            records.append(
                {
                    "id": rid,
                    "school_id": s + 1,
                    "record_type_id": types["lesson_plan"],
                    "author_id": author,
                    "title": "KHBD",
                    "school_year": YEAR,
                    "month": 11,
                    "status": "approved",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            items.append(
                {
                    "batch_id": batch,
                    "record_id": rid,
                    "version_number": 1,
                    "submitted_by_id": author,
                    "submitted_at": NOW,
                    "decision": "approved",
                    "sign_state": "signed" if s % 2 else "unsigned",
                }
            )
        for t in range(teachers):
            author = 2 + s * teachers + t
            records.append(
                {
                    "id": f"v{s}-{t}",
                    "school_id": s + 1,
                    "record_type_id": types["lesson_recording"],
                    "author_id": author,
                    "title": "Tiết",
                    "school_year": YEAR,
                    "month": 11,
                    "status": "submitted",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
    session.execute(insert(Record), records)
    session.execute(insert(ApprovalBatch), batches)
    session.execute(insert(ApprovalItem), items)
    session.commit()
    admin = session.get(Person, 1)
    assert admin is not None
    return admin


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=1000)
    parser.add_argument("--teachers", type=int, default=30)
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        url = args.database_url or f"sqlite:///{Path(work) / 'hoso.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        session = make_sessionmaker(engine)()
        start = time.perf_counter()
        admin = fill(session, args.schools, args.teachers, args.plans)
        print(
            f"filled {args.schools} schools, {args.schools * args.plans} plans in {time.perf_counter() - start:.1f} s"
        )
        if engine.dialect.name == "sqlite":
            session.execute(text("ANALYZE"))
        report = compliance.compute(session, admin, "SGD", PERIOD)
        assert len(report.schools) == args.schools and report.totals()["submitted"] == args.schools * args.plans
        ours = timed(lambda: compliance.compute(session, admin, "SGD", PERIOD), args.repeat)
        raw_query = (
            select(ApprovalBatch.school_id, func.count(ApprovalItem.id))
            .join(ApprovalBatch, ApprovalBatch.id == ApprovalItem.batch_id)
            .where(ApprovalBatch.period == PERIOD)
            .group_by(ApprovalBatch.school_id)
        )
        raw = timed(lambda: session.execute(raw_query).all(), args.repeat)
        print(f"dashboard of the Sở ({args.schools} schools): {ours * 1000:.0f} ms (median of {args.repeat})")
        print(f"raw GROUP BY of the items by school:     {raw * 1000:.0f} ms")
        print(f"ratio: {ours / raw:.1f}x the one raw query (the dashboard runs five, and builds the rows)")
        session.close()
        engine.dispose()


if __name__ == "__main__":
    main()
