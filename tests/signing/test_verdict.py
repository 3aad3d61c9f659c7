"""The typed verdict of a signature report (signing/validate.py): what holds, and its texts."""

from __future__ import annotations

import json
from pathlib import Path

from signing import validate
from signing.validate import Verdict

CATALOGUE = Path(__file__).resolve().parents[2] / "api" / "web" / "i18n" / "en.json"


def test_a_test_certificates_valid_signature_holds_and_nothing_broken_does() -> None:
    holding = {v for v in Verdict if v.holds}
    assert holding == {Verdict.valid, Verdict.valid_test_certificate, Verdict.timestamp_valid}
    assert validate.all_ok([{"verdict": Verdict.valid}, {"verdict": "valid_test_certificate"}])
    assert not validate.all_ok([{"verdict": Verdict.valid}, {"verdict": Verdict.untrusted}])
    assert not validate.all_ok([]) and not validate.holds({"summary_vi": "Chữ ký hợp lệ"})  # text decides nothing


def test_each_verdict_has_one_vietnamese_and_one_english_text_and_the_pages_agree() -> None:
    english = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    assert len({v.vi for v in Verdict}) == len(Verdict) == len({v.en for v in Verdict})
    for verdict in Verdict:
        if verdict is not Verdict.unchecked:  # never shown on a page: the package's report only
            assert english[verdict.vi] == verdict.en, verdict
