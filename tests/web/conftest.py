"""Fixtures the page tests share with the API tests."""

from tests.search.test_inspector_grants import inspection  # noqa: F401  (an inspector, records and a grant)
