"""The evidence package's report speaks to an inspector (#15 item 9): Vietnam time in the Vietnamese
form, the file's kind in Vietnamese, the same verdict mark as the app — no UTC, no internal codes."""

from __future__ import annotations

from flows.evidence.package import file_row, local_time, render_report


def _page(signature: dict[str, object], kind: str = "signed") -> str:
    row = {"title": "KHBD Toán 5", "author": "Nguyễn Thị Lan", "school": "TH A", "record_type": "Kế hoạch bài dạy"}
    row |= {"school_year": "2025-2026"}
    row["files"] = [file_row({"path": "representations/x/v2-khbd.pdf", "kind": kind, "signatures": [signature]})]
    return render_report(
        rows=[row],
        title="Thanh tra",
        package_id="hoso-evidence-1",
        requester="tt.minh",
        decisions=["125/QĐ"],
        exported_at=local_time("2026-11-30T17:30:00+00:00"),
        self_signed=False,
        fingerprint="AB:CD",
    )


def test_times_are_vietnam_time_in_the_vietnamese_form() -> None:
    assert local_time("2026-11-16T02:05:00+00:00") == "16/11/2026 09:05"
    assert local_time("2026-11-30T17:30:00+00:00") == "01/12/2026 00:30"  # already tomorrow in Hanoi
    assert local_time(None) == "" and local_time("not a time") == "not a time"


def test_the_report_shows_local_time_vietnamese_kinds_and_the_verdict_mark() -> None:
    signature = {
        "verdict": "valid",
        "summary_vi": "Chữ ký hợp lệ",
        "signer": {"common_name": "Trần Văn Hòa"},
        "signing_time": "2026-11-16T02:05:00+00:00",
        "trusted": True,
    }
    page = _page(signature)
    assert "01/12/2026 00:30 (giờ Việt Nam, GMT+7)" in page and "UTC" not in page
    assert '<li class="ok">✔ Chữ ký hợp lệ — Trần Văn Hòa, lúc 16/11/2026 09:05 (tin cậy)</li>' in page
    assert "(bản đã ký số)" in page and "(signed)" not in page
    # a phone shows each record as a card whose cells name themselves
    assert 'name="viewport" content="width=device-width' in page and 'data-label="Tệp và chữ ký"' in page


def test_a_signature_that_does_not_hold_is_marked_so() -> None:
    page = _page({"verdict": "invalid", "summary_vi": "Chữ ký KHÔNG hợp lệ", "signer": {}}, kind="original")
    assert '<li class="bad">✘ Chữ ký KHÔNG hợp lệ' in page and "(bản gốc)" in page
