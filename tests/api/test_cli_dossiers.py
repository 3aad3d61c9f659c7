"""`hoso dossiers …` run as a clerk and a principal run it: a process, its output, its exit code."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine

from flows.settings import Settings
from tests.api.test_cli import hoso
from tests.factories import World


def test_the_clerks_year_from_a_shell(settings: Settings, engine: Engine, world: World, tmp_path: Path) -> None:
    early = hoso(settings, "dossiers", "generate", "THA", "2030-2031", "--grade", "5", "--as", "vt.thu")
    assert early.returncode == 1 and "chưa bắt đầu" in early.stderr
    made = hoso(
        settings, "dossiers", "generate", "THA", "2025-2026", "--grade", "5", "--subject", "Toán", "--as", "vt.thu"
    )
    assert made.returncode == 0, made.stderr
    assert "Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026" in made.stdout and "dự thảo" in made.stdout
    refused = hoso(settings, "dossiers", "approve", "THA", "2025-2026", "--as", "vt.thu")
    assert refused.returncode == 1 and "hiệu trưởng" in refused.stderr
    approved = hoso(settings, "dossiers", "approve", "THA", "2025-2026", "--as", "ht.hoa")
    assert approved.returncode == 0 and "đã phê duyệt" in approved.stdout, approved.stderr
    sheet = tmp_path / "danh-muc.xlsx"
    shown = hoso(settings, "dossiers", "show", "THA", "2025-2026", "--xlsx", str(sheet), "--as", "vt.thu")
    assert shown.returncode == 0 and load_workbook(sheet).active is not None, shown.stderr
    closed = hoso(settings, "dossiers", "close", "THA", "2025-2026", "--as", "vt.thu")
    assert closed.returncode == 0 and "Đã đóng" in closed.stdout, closed.stderr
    handed = hoso(settings, "dossiers", "hand-over", "THA", "2025-2026", "--as", "vt.thu")
    assert handed.returncode == 0 and "Đã giao nộp" in handed.stdout, handed.stderr
    twice = hoso(settings, "dossiers", "hand-over", "THA", "2025-2026", "--as", "vt.thu")
    assert twice.returncode == 1 and "Chọn ít nhất một hồ sơ đã đóng" in twice.stderr
