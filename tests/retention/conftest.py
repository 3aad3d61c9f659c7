"""Every retention test runs on both stores: the folder store and S3 (moto's server over real HTTP)."""

from __future__ import annotations

import pytest

from archive.storage import ObjectStore, make_store
from flows.settings import Settings


@pytest.fixture(params=["folder", "s3"])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "s3":
        from tests.conftest import s3_settings

        return s3_settings(settings, request.getfixturevalue("s3_server"))
    return settings


@pytest.fixture
def store(settings: Settings) -> ObjectStore:
    return make_store(settings)
