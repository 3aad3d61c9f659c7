"""Upload and submit for approval in one go (issue #15): the record and its submission together or
neither; a returned plan goes back only as a new version; bad input stores nothing."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from flows.settings import Settings
from tests import factories
from tests.api.test_resumable_uploads import send, start
from tests.factories import World, login, mp4_bytes


def post(client: TestClient, headers: dict[str, str], content: bytes, params: dict[str, str] | None = None, **meta):  # type: ignore[no-untyped-def]
    body = json.dumps(factories.meta(month=11, **meta))
    return client.post(
        "/api/v1/records",
        headers=headers,
        params={"submit": "true", **(params or {})},
        files={"metadata": (None, body), "file": ("ke-hoach.pdf", content)},
    )


def stored(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/records", headers=headers).json()["total"])


def test_a_plan_is_uploaded_and_submitted_in_one_request(client: TestClient, world: World) -> None:
    lan = login(client, "gv.lan")
    made = post(client, lan, factories.lesson_plan_pdf("Toán 5 — Phân số"), title="Toán 5 — Phân số")
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "submitted"
    items = client.get(f"/api/v1/records/{made.json()['id']}/approvals", headers=lan).json()
    assert [(i["decision"], i["version"]) for i in items] == [("pending", 1)]
    actions = [e["action"] for e in client.get(f"/api/v1/records/{made.json()['id']}/audit", headers=lan).json()]
    assert {"record.created", "record.submitted"} <= set(actions), actions
    hoa = login(client, "ht.hoa")
    batches = client.get("/api/v1/approvals", headers=hoa, params={"school_code": "THA", "period": "2025-11"}).json()
    assert [b["counts"]["pending"] for b in batches] == [1], batches


def test_bad_input_to_upload_and_submit_stores_nothing(client: TestClient, world: World, settings: Settings) -> None:
    lan = login(client, "gv.lan")
    plan = factories.lesson_plan_pdf("Khoa học 5")
    not_signed = post(client, lan, plan, record_type="department_minutes")
    assert not_signed.status_code == 409 and "không cần ký duyệt" in not_signed.json()["message"], not_signed.text
    bad_period = post(client, lan, plan, params={"period": "tháng 11"})
    assert bad_period.status_code == 422 and "Kỳ duyệt" in bad_period.json()["message"], bad_period.text
    wrong_type = post(client, lan, factories.EXE)
    assert wrong_type.status_code == 415 and "chỉ nhận" in wrong_type.json()["message"], wrong_type.text
    empty = post(client, lan, b"")
    assert empty.status_code == 422 and "rỗng" in empty.json()["message"], empty.text
    no_file = client.post(
        "/api/v1/records",
        headers=lan,
        params={"submit": "true"},
        files={"metadata": (None, json.dumps(factories.meta(month=11)))},
    )
    assert no_file.status_code == 422 and "Thiếu trường 'file'" in no_file.json()["message"], no_file.text
    settings.max_upload_bytes = 1000
    too_big = post(client, lan, plan)
    assert too_big.status_code == 413, too_big.text
    assert stored(client, lan) == 0  # not one record, draft or submitted
    hoa = login(client, "ht.hoa")
    assert client.get("/api/v1/approvals", headers=hoa, params={"school_code": "THA"}).json() == []


def test_a_returned_plan_is_resubmitted_only_as_a_new_version(client: TestClient, world: World) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    record = post(client, lan, factories.lesson_plan_pdf("Tiếng Việt 5")).json()
    item = client.get(f"/api/v1/records/{record['id']}/approvals", headers=lan).json()[0]
    returned = client.post(
        f"/api/v1/approvals/{item['batch_id']}/decisions",
        headers=hoa,
        json={"decisions": [{"item_id": item["id"], "decision": "returned", "comment": "Bổ sung phần đánh giá"}]},
    )
    assert returned.status_code == 200, returned.text
    again = client.post(f"/api/v1/records/{record['id']}/submit", headers=lan, json={})
    assert again.status_code == 409, again.text
    assert "bị trả lại" in again.json()["message"] and "phiên bản mới" in again.json()["message"]
    assert client.get(f"/api/v1/records/{record['id']}", headers=lan).json()["status"] == "returned"
    corrected = client.post(
        f"/api/v1/records/{record['id']}/versions",
        headers=lan,
        files={"file": ("ke-hoach-sua.pdf", factories.lesson_plan_pdf("Tiếng Việt 5 — đã sửa"))},
    )
    assert corrected.status_code == 201, corrected.text
    resubmitted = client.post(f"/api/v1/records/{record['id']}/submit", headers=lan, json={})
    assert resubmitted.status_code == 201, resubmitted.text
    assert resubmitted.json()["version"] == 2 and resubmitted.json()["decision"] == "pending"


def test_a_recording_is_submitted_by_its_last_chunk_or_not_at_all(client: TestClient, world: World) -> None:
    lan = login(client, "gv.lan")
    data = mp4_bytes(2 * 1024 * 1024 + 5)
    half = 1024 * 1024
    upload_id = start(client, lan, data, month=11).json()["id"]
    assert send(client, lan, upload_id, 0, data[:half]).json()["offset"] == half
    done = client.patch(
        f"/api/v1/uploads/{upload_id}",
        params={"submit": "true"},
        headers={**lan, "Upload-Offset": str(half), "Content-Type": "application/offset+octet-stream"},
        content=data[half:],
    )
    assert done.status_code == 200 and done.json()["state"] == "done", done.text
    assert client.get(f"/api/v1/records/{done.json()['record_id']}", headers=lan).json()["status"] == "submitted"

    evidence = client.post(
        "/api/v1/uploads",
        headers=lan,
        json={
            "metadata": factories.meta(record_type="online_teaching_evidence"),
            "filename": "a.mp4",
            "size": len(data),
        },
    ).json()["id"]
    refused = client.patch(
        f"/api/v1/uploads/{evidence}",
        params={"submit": "true"},
        headers={**lan, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        content=data,
    )
    assert refused.status_code == 409 and "không cần ký duyệt" in refused.json()["message"], refused.text
    assert client.get(f"/api/v1/uploads/{evidence}", headers=lan).json()["offset"] == 0  # not acknowledged
    assert stored(client, lan) == 1  # only the submitted recording
    kept = send(client, lan, evidence, 0, data)  # sent again, upload only
    assert kept.status_code == 200 and kept.json()["state"] == "done", kept.text
    assert client.get(f"/api/v1/records/{kept.json()['record_id']}", headers=lan).json()["status"] == "draft"
