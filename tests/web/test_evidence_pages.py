"""Evidence from the search page: tick records or take the whole search; refused exports keep the form."""

from __future__ import annotations

import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from flows.evidence.verify import Outcome, verify
from flows.settings import Settings
from tests.web.test_pages_http import csrf_of, page_login


def wait_ready(client: TestClient, timeout: float = 60) -> list[dict]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        packages = client.get("/api/v1/evidence").json()
        if packages and all(p["state"] in ("ready", "failed") for p in packages):
            return packages  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("the evidence package was not built in time")


def test_an_inspector_exports_ticked_records_and_a_whole_search(
    client: TestClient, inspection: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    page_login(client, "tt.nam")
    found = client.get("/tim-kiem", params={"q": "phan so", "school_code": "THA"})
    assert found.status_code == 200 and 'name="record_ids"' in found.text
    assert (
        "school_code=THA" in found.text and "Trường: Trường Tiểu học An Bình ✕" in found.text
    )  # the filter is shown and removable
    csrf = csrf_of(found.text)
    base = {"csrf_token": csrf, "q": "phan so", "f-school_code": "THA"}

    untitled = client.post("/goi-chung-cu", data={**base, "record_ids": inspection["plan"], "scope": "selected"})
    assert untitled.status_code == 422 and "Đặt tên cho gói" in untitled.text
    assert f'value="{inspection["plan"]}" id="chon-{inspection["plan"]}" checked' in untitled.text  # kept ticked
    nothing = client.post("/goi-chung-cu", data={**base, "title": "Thanh tra", "scope": "selected"})
    assert nothing.status_code == 422 and "ít nhất một hồ sơ" in nothing.text and 'value="Thanh tra"' in nothing.text
    outside = client.post(
        "/goi-chung-cu", data={**base, "title": "Thanh tra", "record_ids": inspection["gradebook"], "scope": "selected"}
    )
    assert outside.status_code == 422 and "quyết định thanh tra" in outside.text  # not covered by the grant
    forged = client.post(
        "/goi-chung-cu", data={**base, "csrf_token": "x", "title": "T", "record_ids": inspection["plan"]}
    )
    assert forged.status_code == 403

    ticked = client.post(
        "/goi-chung-cu",
        data={**base, "title": "Thanh tra KHBD 11/2026", "record_ids": inspection["plan"], "scope": "selected"},
        follow_redirects=False,
    )
    assert ticked.status_code == 303 and ticked.headers["location"].startswith("/goi-chung-cu?tai=")
    whole = client.post(
        "/goi-chung-cu", data={**base, "title": "Cả tìm kiếm", "scope": "search"}, follow_redirects=False
    )
    assert whole.status_code == 303
    packages = wait_ready(client)
    assert sorted((p["title"], p["records"], p["state"]) for p in packages) == [
        ("Cả tìm kiếm", 1, "ready"),
        ("Thanh tra KHBD 11/2026", 1, "ready"),
    ]
    listing = client.get("/goi-chung-cu")
    assert listing.status_code == 200 and "Sẵn sàng" in listing.text and "125/QĐ-PGDĐT" in listing.text
    assert packages[0]["sha256"] in listing.text and packages[0]["download_url"] in listing.text
    zipped = client.get(packages[0]["download_url"])
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"
    # the page publishes the seal's fingerprint, and it is the one the package carries: `hoso verify` proves it
    published = re.search(r'class="mono seal-fingerprint">([0-9A-F:]{95})<', listing.text)
    assert published is not None and published.group(1) in client.get("/trang-chu").text
    saved = tmp_path / "goi.zip"
    saved.write_bytes(zipped.content)
    assert verify(saved, settings).outcome is Outcome.not_proven  # no root, no fingerprint: anyone could have
    assert verify(saved, settings, [published.group(1)]).outcome is Outcome.valid
