"""Retention in the browser's forms: schedule with a reason, holds, the four destruction steps, fixity, transfer."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from flows.settings import Settings
from tests.factories import login
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.retention.test_transfer import transcript
from tests.web.test_admin_pages import post_form
from tests.web.test_pages_http import csrf_of, page_login


@pytest.fixture
def settings(settings: Settings, pki: TestPKI) -> Settings:
    return settings.model_copy(update={"trust_roots": str(pki.root_pem_path()), "tsa_url": pki.tsa_url})


def alerts(html: str) -> list[str]:
    return re.findall(r'role="alert">([^<]+)', html)


def test_the_schedules_keeper_edits_it_with_a_reason_and_the_archivist_holds_a_year(
    client: TestClient, due: dict[str, str]
) -> None:
    page_login(client, "lt.mai")
    page = client.get("/luu-tru")
    assert page.status_code == 200 and "Kế hoạch bài dạy" in page.text and "Xem xét hủy (2)" in page.text
    # two schools here: the schedule is every school's, so THA's archivist reads it and is told who keeps it
    assert "/luu-tru/thoi-han/" not in page.text and "quản trị viên hệ thống sửa khi cần" in page.text
    term = {"school": "THA", "years": "15", "reason": "Theo yêu cầu của Sở", "citation": "CV 123/SGDĐT"}
    refused = post_form(client, "/luu-tru", "/luu-tru/thoi-han/lesson_plan", term)
    assert refused.status_code == 403 and "dùng chung cho mọi trường" in refused.text, refused.text
    client.cookies.clear()
    page_login(client, "admin1")
    no_reason = post_form(client, "/luu-tru", "/luu-tru/thoi-han/lesson_plan", {"school": "THA", "years": "15"})
    assert no_reason.status_code == 422 and 'value="15"' in no_reason.text and "<details open>" in no_reason.text
    longer = term
    assert post_form(client, "/luu-tru", "/luu-tru/thoi-han/lesson_plan", longer).status_code == 303
    assert "15 năm" in client.get("/luu-tru").text
    shorter = post_form(client, "/luu-tru", "/luu-tru/thoi-han/lesson_plan", {**longer, "years": "5"})
    assert shorter.status_code == 422 and "ngắn" in " ".join(alerts(shorter.text)), alerts(shorter.text)
    # the scan rule beside the term: typed back on a refusal, then saved and shown
    assert "dưới 200 dpi: nhận, kèm cảnh báo" in client.get("/luu-tru").text
    rule = {"school": "THA", "min_dpi": "2OO", "policy": "refuse", "reason": "Bản vẽ phải rõ"}
    typo = post_form(client, "/luu-tru", "/luu-tru/anh-quet/lesson_plan", rule)
    assert typo.status_code == 422 and "số nguyên" in " ".join(alerts(typo.text)) and 'value="2OO"' in typo.text
    superscript = post_form(client, "/luu-tru", "/luu-tru/anh-quet/lesson_plan", {**rule, "min_dpi": "²"})
    assert superscript.status_code == 422 and "số nguyên" in " ".join(alerts(superscript.text))  # not a 500
    low = post_form(client, "/luu-tru", "/luu-tru/anh-quet/lesson_plan", {**rule, "min_dpi": "150"})
    assert low.status_code == 422 and "Thông tư 05/2025, Điều 8" in " ".join(alerts(low.text)), alerts(low.text)
    assert post_form(client, "/luu-tru", "/luu-tru/anh-quet/lesson_plan", {**rule, "min_dpi": "300"}).status_code == 303
    assert "dưới 300 dpi: từ chối" in client.get("/luu-tru").text
    client.cookies.clear()
    page_login(client, "lt.mai")

    no_hold_reason = post_form(client, "/luu-tru", "/luu-tru/phong-toa", {"school": "THA", "school_year": "2000-2001"})
    assert no_hold_reason.status_code == 422 and 'value="2000-2001"' in no_hold_reason.text
    hold = {"school": "THA", "school_year": "2000-2001", "reason": "Thanh tra hồ sơ cũ", "reference": "45/QĐ"}
    assert post_form(client, "/luu-tru", "/luu-tru/phong-toa", hold).status_code == 303
    held = client.get("/luu-tru").text
    assert "Thanh tra hồ sơ cũ (45/QĐ) — 1 hồ sơ" in held
    hold_id = re.search(r"/luu-tru/phong-toa/(\d+)/giai-toa", held).group(1)  # type: ignore[union-attr]
    action = f"/luu-tru/phong-toa/{hold_id}/giai-toa"
    assert post_form(client, "/luu-tru", action, {"school": "THA", "reason": ""}).status_code == 422
    assert post_form(client, "/luu-tru", action, {"school": "THA", "reason": "Xong thanh tra"}).status_code == 303
    assert "Đã giải tỏa" in client.get("/luu-tru").text
    client.cookies.clear()
    page_login(client, "gv.lan")
    assert client.get("/luu-tru").status_code == 403


def test_a_destruction_from_the_review_list_to_the_executed_biên_bản(
    client: TestClient, due: dict[str, str], pki: TestPKI
) -> None:
    page_login(client, "lt.mai")
    nothing = post_form(client, "/luu-tru", "/luu-tru/huy", {"school": "THA", "explanation": "Hết hạn"})
    assert nothing.status_code == 422 and "ít nhất một hồ sơ" in nothing.text
    ids = [due["a"], due["b"]]
    unexplained = post_form(client, "/luu-tru", "/luu-tru/huy", {"school": "THA", "record_ids": ids})
    assert unexplained.status_code == 422 and "Ghi thuyết minh" in unexplained.text
    assert f'value="{due["a"]}" id="huy-{due["a"]}" checked' in unexplained.text  # the ticks are kept
    made = post_form(client, "/luu-tru", "/luu-tru/huy", {"school": "THA", "record_ids": ids, "explanation": "Hết hạn"})
    assert made.status_code == 303
    page = made.headers["location"]
    assert "Danh mục và thuyết minh" in client.get(page).text

    two = {"members": "Nguyễn Thị Hoa — Hiệu trưởng\nLê Mai — Lưu trữ", "establishment_decision": "12/QĐ-THA"}
    few = post_form(client, page, f"{page}/hoi-dong", {**two, "minutes": "Họp ngày 20/11", "opinion": "agree"})
    assert few.status_code == 422 and "3" in few.text and "Lê Mai — Lưu trữ" in few.text
    council = {**two, "members": two["members"] + "\nTrần Văn Ba, Kế toán", "minutes": "Họp", "opinion": "agree"}
    assert post_form(client, page, f"{page}/hoi-dong", council).status_code == 303
    assert "chờ quyết định" in client.get(page).text

    client.cookies.clear()
    page_login(client, "ht.hoa")
    no_number = post_form(client, page, f"{page}/quyet-dinh", {"approve": "yes"})
    assert no_number.status_code == 422 and "Ghi số quyết định" in no_number.text
    files = {"pkcs12": ("ht.p12", pki.pkcs12("principal"))}
    decision = {"decision_number": "05/QĐ-THA", "approve": "yes", "password": PKCS12_PASSWORD.decode()}
    first_use = post_form(client, page, f"{page}/quyet-dinh", decision, files=files)  # nobody's certificate yet
    assert first_use.status_code == 422 and "Đây là chứng thư số của tôi" in first_use.text, alerts(first_use.text)
    fingerprint = re.search(r'name="confirm_certificate" value="((?:[0-9A-F]{2}:){31}[0-9A-F]{2})"', first_use.text)
    assert fingerprint and "chưa ký số" not in first_use.text and "chờ quyết định" in first_use.text
    decision["confirm_certificate"] = fingerprint.group(1)  # she ticks "this is my certificate", signs again
    decided = post_form(client, page, f"{page}/quyet-dinh", decision, files=files)
    assert decided.status_code == 303, alerts(decided.text)
    decided_page = client.get(page).text
    assert "chờ thực hiện hủy" in decided_page and "Quyết định hủy" in decided_page and "chưa ký số" not in decided_page

    client.cookies.clear()
    page_login(client, "lt.mai")
    unconfirmed = post_form(client, page, f"{page}/thuc-hien", {})
    assert unconfirmed.status_code == 422 and "xác nhận" in unconfirmed.text
    assert post_form(client, page, f"{page}/thuc-hien", {"confirm": "on"}).status_code == 303
    done = client.get(page).text
    assert "Đã hủy" in done and "Biên bản hủy" in done and "giữ lại thông tin và mã băm" in done
    assert client.get(f"/ho-so/{due['a']}").status_code == 200  # the tombstone's page stays


def test_fixity_and_a_transfer_package_from_the_page(client: TestClient, due: dict[str, str]) -> None:
    record_id = transcript(client, login(client, "gv.lan"), "Học bạ lớp 5A", "2023-2024")
    # its term, as the worker computes it for every new record (the page itself does not refresh the schedule)
    assert client.get(f"/api/v1/records/{record_id}/retention", headers=login(client, "lt.mai")).json()["permanent"]
    page_login(client, "lt.mai")
    assert post_form(client, "/luu-tru", "/luu-tru/kiem-tra", {"school": "THA"}).status_code == 303
    deadline = time.monotonic() + 120
    while "✔ Toàn vẹn" not in (page := client.get("/luu-tru").text):
        assert time.monotonic() < deadline, "the fixity run did not finish"
        time.sleep(0.2)
    assert "Tạo gói nộp lưu" in page
    year = re.search(r'name="school_year" value="(\d{4}-\d{4})"><button type="submit">Tạo gói nộp lưu', page)
    assert year, page
    made = client.post(
        "/luu-tru/nop-luu",
        data={"csrf_token": csrf_of(page), "school": "THA", "school_year": year.group(1)},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text[:500]
    listing = client.get("/luu-tru").text
    link = re.search(r'href="(/api/v1/retention/transfers/[^"]+/download)"', listing)
    assert link and client.get(link.group(1)).content[:2] == b"PK"
