"""Fixtures the page tests share with the API tests."""

from tests.retention.test_disposition import due  # noqa: F401, E402  (an archivist and two plans past their term)
from tests.search.test_inspector_grants import inspection  # noqa: F401  (an inspector, records and a grant)
