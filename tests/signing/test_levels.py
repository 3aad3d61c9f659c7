"""The one signature-level policy (signing/levels.py), each purpose keeping the level it always had."""

from __future__ import annotations

from flows.settings import Settings
from signing import levels
from signing.levels import Purpose


def test_an_approval_takes_the_request_then_the_setting_then_b_lt_with_a_tsa(settings: Settings) -> None:
    plain = settings.model_copy(update={"tsa_url": None, "signature_level": None})
    with_tsa = plain.model_copy(update={"tsa_url": "http://tsa.test"})
    assert levels.level_for(plain, Purpose.approval) == "B-B"
    assert levels.level_for(with_tsa, Purpose.approval) == "B-LT"
    configured = with_tsa.model_copy(update={"signature_level": "B-LTA"})
    assert levels.level_for(configured, Purpose.approval) == "B-LTA"
    assert levels.level_for(configured, Purpose.approval, "B-T") == "B-T"


def test_a_destruction_decision_is_b_t_with_a_tsa_whatever_is_configured(settings: Settings) -> None:
    plain = settings.model_copy(update={"tsa_url": None, "signature_level": "B-LTA"})
    assert levels.level_for(plain, Purpose.destruction_decision) == "B-B"
    with_tsa = plain.model_copy(update={"tsa_url": "http://tsa.test"})
    assert levels.level_for(with_tsa, Purpose.destruction_decision) == "B-T"
