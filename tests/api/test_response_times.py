"""Times in JSON keep the form each route always wrote (#14 gave many routes a response model: no
client may notice). Routes that returned plain dicts wrote `datetime.isoformat()` (`+00:00`); pydantic
alone would write `Z`."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import World, login, meta


def test_a_hold_and_an_upload_session_write_their_times_as_before(client: TestClient, world: World) -> None:
    hoa, lan = login(client, "ht.hoa"), login(client, "gv.lan")
    body = {"reason": "Tranh chấp", "school_code": "THA", "school_year": "2025-2026", "record_type": "lesson_plan"}
    hold = client.post("/api/v1/holds", headers=hoa, json=body)
    assert hold.status_code == 201, hold.text
    assert hold.json()["created_at"].endswith("+00:00"), hold.json()
    released = client.post(f"/api/v1/holds/{hold.json()['id']}/release", headers=hoa, json={"reason": "Kết thúc"})
    assert released.json()["released_at"].endswith("+00:00"), released.json()
    upload = client.post(
        "/api/v1/uploads",
        headers=lan,
        json={"metadata": meta(record_type="lesson_recording"), "filename": "tiet-day.mp4", "size": 4096},
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["expires_at"].endswith("+00:00"), upload.json()
