"""After the month is signed, each teacher is told once how many of their plans were signed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from flows import notifications
from tests.pki import TestPKI
from tests.signing.conftest import approve_all, sign, wait_batch


def test_each_teacher_is_told_their_signed_count_once(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    pki: TestPKI,
    session: Session,
) -> None:
    hoa, lan, minh, batch_id = month["hoa"], month["lan"], month["minh"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    assert sign(client, hoa, batch_id, pki.pkcs12("principal")).status_code == 202
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"
    notifications.follow(session)
    told = {
        who: [n for n in client.get("/api/v1/notifications", headers=h).json()["items"] if n["kind"] == "plans_signed"]
        for who, h in (("lan", lan), ("minh", minh))
    }
    assert [n["text"] for n in told["lan"]] == ["2 kế hoạch của bạn tháng 11/2026 đã được ký duyệt"]
    assert [n["text"] for n in told["minh"]] == ["1 kế hoạch của bạn tháng 11/2026 đã được ký duyệt"]
    principal = client.get("/api/v1/notifications", headers=hoa).json()
    assert principal["unread"] == 0  # every plan decided: nothing waits for her
    assert "plans_signed" not in {n["kind"] for n in principal["items"]}  # the approval record is not her plan
