"""Search over the API: real files extracted, indexed through the jobs table, scoped to what the caller sees."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from archive.models import Job
from flows.settings import Settings
from search import indexer
from tests.api.test_cli import hoso, hoso_env
from tests.factories import World, lesson_plan_pdf, login, meta


def docx_plan(*paragraphs: str) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Hoạt động", "Tìm hiểu Điện Biên Phủ"
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def xlsx_gradebook() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Lớp 4A"
    sheet.append(["Họ và tên", "Toán", "Tiếng Việt", "Nhận xét"])
    sheet.append(["Dương Văn An", 9, 8, "Hoàn thành tốt"])
    sheet.append(["Phạm Thị Bình", 7, 9, "Tiến bộ"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def upload(client: TestClient, headers: dict[str, str], name: str, data: bytes, **fields: object) -> str:
    response = client.post(
        "/api/v1/records",
        headers=headers,
        files={"metadata": (None, json.dumps(meta(**fields))), "file": (name, data)},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def index_now(client: TestClient, timeout: float = 120) -> None:
    """Index what is queued; also wait for a batch the background worker may hold (it claimed it first)."""
    hoso = client.app.state.hoso  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while True:
        indexer.drain(hoso.sessions, hoso.search, hoso.describe)
        with hoso.sessions() as session:
            left = session.scalar(select(func.count()).select_from(Job).where(Job.kind == "index_record"))
        if not left:
            return
        assert time.monotonic() < deadline, f"{left} index jobs still pending"
        time.sleep(0.05)


def find(client: TestClient, headers: dict[str, str], q: str = "", **params: object) -> dict:  # type: ignore[type-arg]
    response = client.get("/api/v1/search", headers=headers, params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def library(client: TestClient, world: World) -> dict[str, str]:
    lan, binh = login(client, "gv.lan"), login(client, "gv.binh")
    ids = {
        "plan": upload(client, lan, "khbd.pdf", lesson_plan_pdf("Kế hoạch bài dạy: Phân số")),
        "history": upload(
            client,
            lan,
            "lich-su.docx",
            docx_plan("Bài 20: Chiến thắng lịch sử", "Học sinh kể lại chiến dịch năm 1954."),
            title="Giáo án Lịch sử 5 — Chiến dịch",
            subject="Lịch sử",
        ),
        "gradebook": upload(
            client,
            lan,
            "4a.xlsx",
            xlsx_gradebook(),
            record_type="gradebook",
            title="Sổ theo dõi và đánh giá học sinh lớp 4A",
            subject=None,
            grade=4,
            class_name="4A",
            month=None,
        ),
        "other": upload(client, binh, "khbd.pdf", lesson_plan_pdf("Giáo án Toán 5"), school_code="THB"),
    }
    index_now(client)
    return ids


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("giao an toan lop 5", {"plan"}),
        ("giáo án toán lớp 5", {"plan"}),
        ("Điện Biên", {"history"}),  # from a table cell inside the DOCX
        ("dien bien", {"history"}),
        ("sổ điểm", {"gradebook"}),  # the everyday name of "Sổ theo dõi và đánh giá học sinh"
        ("so diem lop 4a", {"gradebook"}),
        ("khong co tu nay", set()),  # nothing found is an empty list, not an error
        ("duong van an", {"gradebook"}),  # a name inside the XLSX
        ("hoat dong thao luan nhom", {"plan"}),  # the PDF's own text
        ("1954", {"history"}),
    ],
)
def test_vietnamese_search_finds_the_right_records(
    client: TestClient, library: dict[str, str], q: str, expected: set[str]
) -> None:
    found = find(client, login(client, "ht.hoa"), q)
    by_id = {v: k for k, v in library.items()}
    assert {by_id[h["id"]] for h in found["hits"]} == expected, found


def test_facets_and_totals_count_only_what_the_caller_may_see(client: TestClient, library: dict[str, str]) -> None:
    teacher_a = find(client, login(client, "gv.lan"), "toan")
    assert teacher_a["facets"]["school_code"] == {"THA": 2}  # the plan, and the gradebook's Toán column
    assert library["other"] not in {h["id"] for h in teacher_a["hits"]}
    teacher_b = find(client, login(client, "gv.binh"), "toan")
    assert [h["id"] for h in teacher_b["hits"]] == [library["other"]] and teacher_b["total"] == 1
    admin = find(client, login(client, "admin1"))
    assert admin["total"] == 0 and admin["hits"] == []  # an admin reads no records by that role alone
    everything = find(client, login(client, "ht.hoa"))
    assert everything["total"] == 3
    assert everything["facets"]["record_type"] == {"lesson_plan": 2, "gradebook": 1}
    assert everything["facets"]["media"] == {"document": 2, "sheet": 1}
    graded = find(client, login(client, "ht.hoa"), "", record_type="gradebook")
    assert [h["id"] for h in graded["hits"]] == [library["gradebook"]]
    hit = find(client, login(client, "ht.hoa"), "dien bien")["hits"][0]
    assert "<b>Điện</b>" in hit["snippet"] and hit["teacher"] == "gv.lan" and hit["school_code"] == "THA"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"q": "x" * 600}, "quá dài"),
        ({"q": " ".join(["tu"] * 10 + [f"w{i}" for i in range(40)])}, "quá nhiều từ"),
        ({"page_size": 1000}, "Trang"),
        ({"page": 0}, "Trang"),
    ],
)
def test_bad_queries_are_422_with_a_message(client: TestClient, world: World, params: dict, words: str) -> None:  # type: ignore[type-arg]
    response = client.get("/api/v1/search", headers=login(client, "ht.hoa"), params=params)
    assert response.status_code == 422, response.text
    assert words in response.json()["message"]


@pytest.mark.parametrize("q", ['"', "title:(", "AND NOT", "*", "\\", "'; DROP TABLE records; --"])
def test_query_syntax_is_never_a_500(client: TestClient, world: World, q: str) -> None:
    response = client.get("/api/v1/search", headers=login(client, "ht.hoa"), params={"q": q})
    assert response.status_code == 200, response.text


def test_changes_are_queued_with_the_commit_and_indexed_after_a_restart(
    client: TestClient, world: World, settings: Settings, session: Session
) -> None:
    """A crash between the commit and the index update is repaired: the job committed with the record."""
    lan = login(client, "gv.lan")
    record_id = upload(client, lan, "khbd.pdf", lesson_plan_pdf("Kế hoạch bài dạy: Hình tam giác"))
    session.commit()
    queued = session.scalar(select(func.count()).select_from(Job).where(Job.kind == "index_record"))
    assert queued and queued >= 1
    # a new server process over the same data (the first one "died" before indexing)
    with TestClient(create_app(settings.model_copy(update={"index_worker": True}))) as restarted:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if find(restarted, login(restarted, "gv.lan"), "hinh tam giac")["total"]:
                break
            time.sleep(0.2)
        hits = find(restarted, login(restarted, "gv.lan"), "hinh tam giac")["hits"]
        assert [h["id"] for h in hits] == [record_id]
    session.commit()
    assert not session.scalar(select(func.count()).select_from(Job).where(Job.kind == "index_record"))


def test_a_decision_reindexes_the_record(client: TestClient, library: dict[str, str]) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    response = client.post(f"/api/v1/records/{library['plan']}/submit", headers=lan, json={"period": "2025-10"})
    assert response.status_code == 201, response.text
    index_now(client)
    assert [h["id"] for h in find(client, hoa, "", status="submitted")["hits"]] == [library["plan"]]


def test_reindex_rebuilds_from_the_database(client: TestClient, library: dict[str, str], settings: Settings) -> None:
    hoso_state = client.app.state.hoso  # type: ignore[attr-defined]
    hoso_state.search.clear()
    assert find(client, login(client, "ht.hoa"))["total"] == 0
    done = hoso(settings, "reindex", env=hoso_env(settings))
    assert done.returncode == 0, done.stderr
    assert "indexed: 4" in done.stdout
    assert find(client, login(client, "ht.hoa"), "dien bien")["total"] == 1


def test_whoosh_serves_the_same_search(world: World, settings: Settings, tmp_path: Path) -> None:
    whoosh = settings.model_copy(update={"search_engine": "whoosh"})
    with TestClient(create_app(whoosh)) as client:
        lan = login(client, "gv.lan")
        upload(client, lan, "khbd.pdf", lesson_plan_pdf("Kế hoạch bài dạy: Đo độ dài"))
        index_now(client)
        assert find(client, lan, "do do dai")["total"] == 1
        assert find(client, lan, "đo độ dài")["hits"][0]["title"].startswith("Kế hoạch bài dạy Toán")
    assert (settings.data_dir / "index" / "whoosh").is_dir()


def test_a_recording_is_found_by_its_metadata_and_duration(client: TestClient, world: World, tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import require_tool

    ffmpeg = require_tool("ffmpeg")
    require_tool("ffprobe")
    video = tmp_path / "tiet-day.mp4"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=3:size=160x120:rate=10",
            "-pix_fmt",
            "yuv420p",
            str(video),
        ],
        check=True,
    )
    lan = login(client, "gv.lan")
    fields = {"record_type": "lesson_recording", "title": "Video tiết dạy Khoa học 5B", "class_name": "5B"}
    record_id = upload(client, lan, "tiet-day.mp4", video.read_bytes(), **fields)
    index_now(client)
    found = find(client, lan, "video khoa hoc 5b thoi luong 3 giay")
    assert [h["id"] for h in found["hits"]] == [record_id]
    assert find(client, lan, "", media="video")["total"] == 1


def test_the_retention_facet_follows_each_records_retention_state(client: TestClient, library: dict[str, str]) -> None:
    """The sweep (one set-based UPDATE) and a state set on the row (a transfer, a disposition) both
    reindex the records they change, so the `retention` facet says what retention says."""
    from datetime import date

    from retention import service as retention
    from retention.models import RecordRetention

    hoa = login(client, "ht.hoa")
    assert find(client, hoa, "")["facets"]["retention"] == {"active": 3}
    hoso = client.app.state.hoso  # type: ignore[attr-defined]
    with hoso.sessions() as session:
        moved = retention.sweep(session, today=date(2200, 1, 1))["moved_to_review"]
        state = session.scalar(select(RecordRetention.state).where(RecordRetention.record_id == library["plan"]))
    index_now(client)
    facet = find(client, hoa, "")["facets"]["retention"]
    assert moved and state == "review" and facet.get("review") and sum(facet.values()) == 3, facet
    assert library["plan"] in {h["id"] for h in find(client, hoa, "", retention="review")["hits"]}
    with hoso.sessions() as session:
        row = session.get(RecordRetention, library["plan"])
        assert row is not None
        row.state = "transferred"
        session.commit()
    index_now(client)
    assert [h["id"] for h in find(client, hoa, "", retention="transferred")["hits"]] == [library["plan"]]
