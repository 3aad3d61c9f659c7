"""The settings split: each domain's class beside its code, composed into the one `Settings`.

pydantic-settings must merge the fields of every base (multiple inheritance over one kernel class)
and read each from its HOSO_ variable, whichever class declared it; a domain's class alone reads its
own fields and the kernel's, and nothing of another domain's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from archive.settings import ArchiveSettings
from flows.settings import Settings
from retention.settings import RetentionSettings
from search.settings import SearchSettings
from signing import levels
from signing.settings import SigningSettings

DOMAINS = (SigningSettings, RetentionSettings, SearchSettings)


def test_the_composed_settings_hold_every_field_once_and_read_each_from_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = {cls: set(cls.model_fields) - set(ArchiveSettings.model_fields) for cls in DOMAINS}
    assert all(own.values())
    signing, retention, search = own[SigningSettings], own[RetentionSettings], own[SearchSettings]
    assert not (signing & retention or signing & search or retention & search)
    everything = (
        set(ArchiveSettings.model_fields)
        | signing
        | retention
        | search
        | {"evidence_max_bytes", "evidence_max_records", "rendition_seconds", "rendition_batch", "rendition_worker"}
        | {"video_seconds_per_second", "video_min_seconds", "ocr_seconds_per_page", "ocr_min_seconds"}
    )
    assert set(Settings.model_fields) == everything
    assert all(issubclass(Settings, cls) for cls in DOMAINS)

    for name, value in {
        "HOSO_DATA_DIR": str(tmp_path),  # the kernel
        "HOSO_TSA_URL": "http://tsa.example",  # signing
        "HOSO_PKCS11_PIN": "4711",  # signing, a secret
        "HOSO_RETENTION_SWEEP_HOURS": "3",  # retention
        "HOSO_SEARCH_ENGINE": "whoosh",  # search
        "HOSO_EVIDENCE_MAX_RECORDS": "7",  # the flows' own
        "hoso_job_lease_seconds": "9",  # names are not case-sensitive, as before
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.data_dir == tmp_path and settings.job_lease_seconds == 9
    assert settings.tsa_url == "http://tsa.example" and levels.level_for(settings, levels.Purpose.approval) == "B-LT"
    assert isinstance(settings.pkcs11_pin, SecretStr) and settings.pkcs11_pin.get_secret_value() == "4711"
    assert "4711" not in repr(settings)
    assert settings.retention_sweep_hours == 3 and settings.search_engine == "whoosh"
    assert settings.evidence_max_records == 7
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'hoso.db').resolve()}"
    copy = settings.model_copy(update={"trust_roots": "roots.pem"})
    assert isinstance(copy, Settings) and copy.trust_roots == "roots.pem" and copy.search_engine == "whoosh"

    alone = SigningSettings()  # a domain's class alone: its fields and the kernel's
    assert alone.tsa_url == "http://tsa.example" and alone.data_dir == tmp_path
    assert not hasattr(alone, "search_engine") and not hasattr(alone, "retention_sweep_hours")
    assert SearchSettings().search_engine == "whoosh" and RetentionSettings().retention_sweep_hours == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [("HOSO_SEARCH_ENGINE", "lucene"), ("HOSO_REVOCATION_MODE", "never"), ("HOSO_S3_PART_SIZE", "1")],
)
def test_each_domains_checks_still_hold_in_the_composition(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
