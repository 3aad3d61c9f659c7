"""The dossier page's forms without a browser: who may see it, refusals beside their form with what
was ticked kept, the draft's edits, the principal's approval, and refiling an unfiled record."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.factories import World, lesson_plan_pdf, login
from tests.search.test_search_api import upload
from tests.web.test_admin_pages import post_form
from tests.web.test_pages_http import page_login

PAGE = "/danh-muc-ho-so"


def alerts(html: str) -> list[str]:
    return re.findall(r'role="alert">([^<]+)', html)


def test_the_dossier_page_refuses_clearly_and_files_what_the_clerk_chooses(client: TestClient, world: World) -> None:
    page_login(client, "gv.lan")
    assert client.get(PAGE).status_code == 403
    client.cookies.clear()
    page_login(client, "vt.thu")
    assert "Lập danh mục hồ sơ năm học mới" in client.get(PAGE).text
    year = {"school": "THA", "school_year": "2027-2028", "grades": ["5"], "subjects": ["Toán"]}
    early = post_form(client, PAGE, f"{PAGE}/lap", year)
    assert early.status_code == 422 and any("chưa bắt đầu" in a for a in alerts(early.text)), alerts(early.text)
    assert 'value="5" checked' in early.text  # what was ticked is kept
    made = post_form(client, PAGE, f"{PAGE}/lap", {**year, "school_year": "2025-2026"})
    assert made.status_code == 303
    page = client.get(made.headers["location"]).text
    assert "Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026" in page and "Phê duyệt danh mục" not in page
    ids = re.findall(r'href="/danh-muc-ho-so/ho-so/([0-9a-f-]{36})"', page)
    first = client.get(f"{PAGE}/ho-so/{ids[0]}").text
    code = re.search(r'name="file_code" value="([^"]+)"', first).group(1)  # type: ignore[union-attr]
    second = f"{PAGE}/ho-so/{ids[1]}"
    clash = post_form(client, second, f"{second}/sua", {"school": "THA", "file_code": code, "title": "Tên gõ"})
    assert clash.status_code == 422 and any("đã có ở trường" in a for a in alerts(clash.text))
    assert 'value="Tên gõ"' in clash.text  # what was typed is kept
    renamed = post_form(client, second, f"{second}/sua", {"school": "THA", "title": "Tên mới", "term": "30"})
    assert renamed.status_code == 303 and "Tên mới" in client.get(PAGE).text
    assert "30 năm" in client.get(second).text
    upload(client, login(client, "gv.lan"), "cv.pdf", lesson_plan_pdf(), title="Phân số", grade=4)  # no khối 4 dossier
    client.cookies.clear()
    page_login(client, "ht.hoa")
    assert post_form(client, PAGE, f"{PAGE}/{_list_id(client)}/phe-duyet", {"school": "THA"}).status_code == 303
    client.cookies.clear()
    page_login(client, "vt.thu")
    page = client.get(f"{PAGE}?truong=THA&nam=2025-2026").text
    assert "Đã phê duyệt" in page and "Phân số" in page  # unfiled: no dossier matches grade 4
    record_id = re.search(r'action="/danh-muc-ho-so/tai-lieu/([0-9a-f-]{36})/luu"', page).group(1)  # type: ignore[union-attr]
    target = re.search(r'<option value="([0-9a-f-]{36})">[^<]*Kế hoạch bài dạy môn Toán khối 5', page).group(1)  # type: ignore[union-attr]
    filed = post_form(client, PAGE, f"{PAGE}/tai-lieu/{record_id}/luu", {"school": "THA", "dossier_id": target})
    assert filed.status_code == 303 and "Mọi tài liệu đã vào hồ sơ." in client.get(PAGE).text
    assert "Kế hoạch bài dạy môn Toán khối 5" in client.get(f"/ho-so/{record_id}").text


def _list_id(client: TestClient) -> str:
    found = re.search(r'href="/danh-muc-ho-so/(\d+)/danh-muc.pdf"', client.get(PAGE).text)
    assert found is not None
    return found.group(1)
