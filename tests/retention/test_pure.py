"""The pure pieces of retention, without a database or a store: states, tables, tombstones, bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy.orm import Session

from archive import blobs
from archive.exceptions import Conflict
from archive.models import Person, Record, RecordType, School, Version
from archive.storage import ObjectInfo, ObjectMissing, ObjectStore, blob_key
from retention.disposition.common import rows
from retention.disposition.execute import _all_unlocked, tombstone
from retention.models import (
    CouncilOpinion,
    DispositionState,
    FixityState,
    HoldKind,
    RecordRetention,
    RetentionState,
    Transfer,
)
from retention.schedule import eligible_from, end_year, keep_until_year
from retention.transfer import _dossier, due_date
from retention.views import transfer_view

WHEN = datetime(2037, 3, 2, 1, 30, tzinfo=UTC)


def _record(title: str = "KHBD Toán 6", years: int | None = 10) -> Record:
    return Record(
        id="r-1",
        title=title,
        school_year="2025-2026",
        school_id=1,
        record_type=RecordType(code="lesson_plan", name_vi="Kế hoạch bài dạy", retention_years=years),
        school=School(code="THA", name="THCS Thành An"),
        author=Person(username="gv.lan", full_name="Nguyễn Thị Lan"),
        created_at=datetime(2025, 9, 5, 8, 0, tzinfo=UTC),
    )


def test_stored_state_values_stay_the_strings_the_database_holds() -> None:
    assert [s.value for s in RetentionState] == ["active", "review", "proposed", "destroyed", "transferred"]
    assert [s.value for s in DispositionState] == ["proposed", "reviewed", "decided", "executed", "rejected", "lapsed"]
    assert [s.value for s in FixityState] == ["running", "ok", "problems", "failed", "interrupted"]
    assert [k.value for k in HoldKind] == ["records", "dossier", "filter"]
    assert [o.value for o in CouncilOpinion] == ["agree", "disagree"]
    assert RetentionState.review == "review" and f"{DispositionState.lapsed}" == "lapsed"  # compares as its string


def test_the_term_counts_from_the_end_of_the_school_year() -> None:
    assert end_year("2025-2026") == 2026
    assert keep_until_year(False, 10, "2025-2026") == 2036 and keep_until_year(True, None, "2025-2026") is None
    assert eligible_from(RecordRetention(permanent=False, keep_until_year=2036)) == date(2037, 1, 1)
    assert due_date("2025-2026") == date(2027, 12, 31)


def test_the_list_table_numbers_rows_and_shows_the_term() -> None:
    table = rows([("Hết giá trị", _record()), ("Trùng", _record("Sổ điểm", years=None))])
    assert table == [
        ["1", "KHBD Toán 6", "Kế hoạch bài dạy", "2025-2026", "10 năm", "Hết giá trị"],
        ["2", "Sổ điểm", "Kế hoạch bài dạy", "2025-2026", "—", "Trùng"],
    ]


def test_a_tombstone_keeps_the_metadata_and_every_hash() -> None:
    versions = [
        Version(
            number=n,
            blob_sha256=str(n) * 64,
            size=100 * n,
            media_type="application/pdf",
            original_filename=f"v{n}.pdf",
            kind=kind,
        )
        for n, kind in ((1, "original"), (2, "signed"))
    ]
    kept = tombstone(_record(), versions, "05/QĐ-THA", WHEN)
    assert kept["record_id"] == "r-1" and kept["school_code"] == "THA" and kept["author"] == "gv.lan"
    assert kept["created_at"] == "2025-09-05T08:00:00+00:00" and kept["destroyed_at"] == WHEN.isoformat()
    assert [v["sha256"] for v in kept["versions"]] == ["1" * 64, "2" * 64]
    assert kept["versions"][1] == {
        "number": 2,
        "sha256": "2" * 64,
        "size": 200,
        "media_type": "application/pdf",
        "filename": "v2.pdf",
        "kind": "signed",
    }
    assert kept["decision_number"] == "05/QĐ-THA"


def test_a_transfer_body_names_its_download() -> None:
    made = Transfer(id="abc123", school_year="2025-2026", record_ids=["a", "b"], size=10, sha256="f" * 64)
    assert transfer_view(made) == {
        "id": "abc123",
        "school_year": "2025-2026",
        "records": 2,
        "size": 10,
        "sha256": "f" * 64,
        "download_url": "/api/v1/retention/transfers/abc123/download",
    }


def test_the_transfer_dossier_spans_its_records() -> None:
    first, last = _record(), _record("KHBD Toán 7")
    last.created_at = datetime(2026, 5, 20, tzinfo=UTC)
    dossier = _dossier(School(code="THA", name="THCS Thành An"), "2025-2026", [first, last], "hoso-transfer-x")
    assert dossier["startDate"] == date(2025, 9, 5) and dossier["endDate"] == date(2026, 5, 20)
    assert (
        dossier["totalDoc"] == 2 and dossier["maintenance"] == "Vĩnh viễn" and dossier["fileCode"] == "hoso-transfer-x"
    )


class _Store:
    """Just enough of an ObjectStore: each blob's lock as `head` reports it."""

    def __init__(self, info: dict[str, ObjectInfo]) -> None:
        self.info = info

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        if key not in self.info:
            raise ObjectMissing(key)
        return self.info[key]


def test_execution_stops_at_any_blob_the_store_still_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobs, "version_of", lambda _session, _sha: None)
    free, held, retained, gone = "a" * 64, "b" * 64, "c" * 64, "d" * 64
    later = datetime.now(UTC) + timedelta(days=1)
    store = _Store(
        {
            blob_key(free): ObjectInfo(blob_key(free), 1, datetime(2020, 1, 1, tzinfo=UTC), False),
            blob_key(held): ObjectInfo(blob_key(held), 1, None, True),
            blob_key(retained): ObjectInfo(blob_key(retained), 1, later, False),
        }
    )
    session = cast(Session, None)
    _all_unlocked(session, cast(ObjectStore, store), {free, gone})  # past its date, or already gone: fine
    for locked in (held, retained):
        with pytest.raises(Conflict) as refused:
            _all_unlocked(session, cast(ObjectStore, store), {free, locked})
        assert "nothing was destroyed" in refused.value.en and locked[:12] in refused.value.vi
