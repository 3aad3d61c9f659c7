"""The Vietnamese analyzer: one NFC form, words cut as tantivy cuts them, and the accent-folded twin.

Pure: no engine, no database."""

from __future__ import annotations

import unicodedata

import pytest

from search import analyzer


def test_normalize_gives_the_one_stored_form() -> None:
    decomposed = unicodedata.normalize("NFD", "Giáo án Toán")
    assert decomposed != "Giáo án Toán"
    assert analyzer.normalize(decomposed) == "Giáo án Toán"


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("Đường", "duong"),
        ("Dương", "duong"),
        ("sổ", "so"),
        ("điểm", "diem"),
        ("Nguyễn", "nguyen"),
        ("ỨNG", "ung"),
        ("lớp5", "lop5"),
        ("straße", "strasse"),
        ("Œuvre", "oeuvre"),
    ],
)
def test_fold_strips_every_mark_and_d_bar(word: str, folded: str) -> None:
    assert analyzer.fold(word) == folded


def test_words_are_lowercase_runs_of_letters_and_digits() -> None:
    assert analyzer.words("Giáo án Toán lớp 5 — KHBD_tuần-12 (2025-2026)") == [
        "giáo",
        "án",
        "toán",
        "lớp",
        "5",
        "khbd",
        "tuần",
        "12",
        "2025",
        "2026",
    ]


def test_a_decomposed_mark_does_not_split_a_word() -> None:
    assert analyzer.words(unicodedata.normalize("NFD", "Hoạt động nhóm")) == ["hoạt", "động", "nhóm"]


def test_no_stop_words_and_no_minimum_length() -> None:
    assert analyzer.folded_words("giáo án toán lớp 5") == ["giao", "an", "toan", "lop", "5"]
    assert analyzer.words("") == [] and analyzer.folded_words("  ,;  ") == []


def test_folded_words_match_what_an_inspector_types_without_accents() -> None:
    assert analyzer.folded_words("Sổ điểm lớp 4A") == analyzer.folded_words("so diem lop 4a")
