"""The copy request form on the record page: a refusal comes back beside the form with what was typed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.flows.test_copies import inspection, settings  # noqa: F401  (a grant, records inside and outside it)
from tests.web.test_pages_http import csrf_of, page_login


def test_a_refused_copy_request_keeps_the_form_and_says_why(client: TestClient, inspection: dict) -> None:  # type: ignore[type-arg]  # noqa: F811
    assert page_login(client, "tt.nam").status_code == 303
    record_id = inspection["inside"]["id"]
    page = client.get(f"/ho-so/{record_id}")
    assert page.status_code == 200 and "Yêu cầu bản sao" in page.text
    refused = client.post(
        f"/ho-so/{record_id}/ban-sao",
        data={
            "csrf_token": csrf_of(page.text),
            "kind": "read",
            "purpose": "Thanh tra định kỳ",
            "read_until": "2026-11-01",
        },
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and 'value="Thanh tra định kỳ"' in refused.text
    assert (
        'value="2026-11-01"' in refused.text and "Các phiên bản" in refused.text
    )  # the record's page, not an error page

    # a record outside the grant: the error page, which says nothing of the record
    outside = client.post(
        f"/ho-so/{inspection['outside']['id']}/ban-sao",
        data={"csrf_token": csrf_of(page.text), "kind": "copy", "purpose": "Thanh tra"},
        follow_redirects=False,
    )
    assert outside.status_code == 403 and inspection["outside"]["title"] not in outside.text
