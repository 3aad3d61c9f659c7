"""The upload page's server side: the record types' own limits rendered for the browser's checks,
defaults from the person's last upload, and a returned plan's page asking for a new version."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from flows.settings import Settings
from tests import factories
from tests.factories import World, login
from tests.web.test_pages_http import page_login


def option(html: str, code: str) -> str:
    found = re.search(rf'<option value="{code}"[^>]*>', html)
    assert found, code
    return found.group(0)


def test_the_page_carries_each_types_limits_and_a_teachers_defaults(
    client: TestClient, world: World, settings: Settings
) -> None:
    page_login(client, "gv.lan")
    page = client.get("/tai-len")
    assert page.status_code == 200, page.text
    assert f'data-max-bytes="{settings.max_upload_bytes}"' in page.text
    plan = option(page.text, "lesson_plan")
    assert "selected" in plan and 'data-signed="yes"' in plan  # a teacher's usual type, approved by signature
    assert 'data-accept=".pdf,.docx,.jpg,.jpeg,.png,.tif,.tiff,application/pdf,' in plan  # scans and photos too
    assert 'data-signed=""' in option(page.text, "department_minutes")  # nobody signs it: upload only
    assert 'value="approval_record"' not in page.text  # written by hoso itself
    assert '<option value="2026-2027" selected>' in page.text and '<option value="11" selected>' in page.text
    assert '<option value="Toán">' in page.text and '<input id="subject"' not in page.text  # chosen, not typed
    assert "http-equiv" not in page.text  # progress is updated in place, never by a refresh

    lan = login(client, "gv.lan")
    body = json.dumps(factories.meta(record_type="lesson_recording", subject="Khoa học", grade=4))
    made = client.post(
        "/api/v1/records",
        headers=lan,
        files={"metadata": (None, body), "file": ("tiet-day.mp4", factories.mp4_bytes())},
    )
    assert made.status_code == 201, made.text
    again = client.get("/tai-len").text
    assert "selected" in option(again, "lesson_recording") and "selected" not in option(again, "lesson_plan")
    assert '<option value="Khoa học" selected>' in again and '<option value="4" selected>' in again


def test_a_returned_plans_page_asks_for_a_new_version_before_submitting(client: TestClient, world: World) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    body = json.dumps(factories.meta(month=11))
    record = client.post(
        "/api/v1/records",
        headers=lan,
        params={"submit": "true"},
        files={"metadata": (None, body), "file": ("ke-hoach.pdf", factories.lesson_plan_pdf("Toán 5"))},
    ).json()
    item = client.get(f"/api/v1/records/{record['id']}/approvals", headers=lan).json()[0]
    decisions = {"decisions": [{"item_id": item["id"], "decision": "returned", "comment": "Thiếu mục tiêu"}]}
    decided = client.post(f"/api/v1/approvals/{item['batch_id']}/decisions", headers=hoa, json=decisions)
    assert decided.status_code == 200, decided.text
    page_login(client, "gv.lan")
    returned = client.get(f"/ho-so/{record['id']}").text
    assert 'id="can-ban-moi"' in returned and "/nop-duyet" not in returned  # no submit form, the reason instead
    assert 'id="phien-ban-moi"' in returned  # the new-version upload is right there
    client.post(
        f"/api/v1/records/{record['id']}/versions",
        headers=lan,
        files={"file": ("ke-hoach-sua.pdf", factories.lesson_plan_pdf("Toán 5 — đã sửa"))},
    )
    corrected = client.get(f"/ho-so/{record['id']}").text
    assert 'id="can-ban-moi"' not in corrected and f'action="/ho-so/{record["id"]}/nop-duyet"' in corrected
