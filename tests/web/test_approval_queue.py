"""The approval page opens where the principal's work is: the latest period still waiting for a
decision or the signature — not the calendar month (on 1 December November's plans wait)."""

from __future__ import annotations

import json
import re
from datetime import datetime

from fastapi.testclient import TestClient

from archive import calendar
from tests import factories
from tests.conftest import on_dates
from tests.factories import World, login
from tests.web.test_pages_http import csrf_of, page_login

SCHOOL_YEAR = "2026-2027"


def plan_for(client: TestClient, teacher: dict[str, str], title: str, month: int) -> dict:  # type: ignore[type-arg]
    """A plan of `month` submitted without naming a period: its own month decides."""
    body = json.dumps(factories.meta(title=title, month=month, school_year=SCHOOL_YEAR))
    made = client.post(
        "/api/v1/records",
        headers=teacher,
        files={"metadata": (None, body), "file": ("khbd.pdf", factories.lesson_plan_pdf(title))},
    )
    assert made.status_code == 201, made.text
    submitted = client.post(f"/api/v1/records/{made.json()['id']}/submit", headers=teacher, json={})
    assert submitted.status_code == 201, submitted.text
    return submitted.json()


def heading(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert found, html[:500]
    return " ".join(found.group(1).split())


@on_dates()
def test_the_queue_opens_on_the_latest_waiting_period_and_lists_the_others(
    client: TestClient, world: World, clock: datetime
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    october = plan_for(client, lan, "KHBD Toán — Số thập phân", 10)
    november = plan_for(client, lan, "KHBD Toán — Phân số", 11)
    batch = {
        i["batch_id"]: client.get(f"/api/v1/approvals/{i['batch_id']}", headers=hoa).json() for i in (october, november)
    }
    assert [batch[i["batch_id"]]["period"] for i in (october, november)] == ["2026-10", "2026-11"]

    page_login(client, "ht.hoa")
    page = client.get("/duyet")
    assert page.status_code == 200
    assert heading(page.text).endswith("tháng 11/2026"), heading(page.text)
    assert "KHBD Toán — Phân số" in page.text and "KHBD Toán — Số thập phân" not in page.text
    assert 'href="/duyet?period=2026-10"' in page.text  # the other waiting period, one click away
    filters = page.text[
        page.text.index('class="filters') : page.text.index("</form>", page.text.index('class="filters'))
    ]
    assert "<input" not in filters  # the filters are chosen, not typed
    assert '<option value="2026-10">tháng 10/2026</option>' in filters and '<option value="gv.lan">' in filters
    assert '<option value="Toán">' in filters
    home = client.get("/trang-chu").text
    assert 'href="/duyet?period=2026-11"' in home and 'href="/duyet?period=2026-10"' in home

    # November decided (returned): nothing of it waits any more, so October is where the page opens
    decided = client.post(
        f"/api/v1/approvals/{november['batch_id']}/decisions",
        headers=hoa,
        json={"decisions": [{"item_id": november["id"], "decision": "returned", "comment": "Bổ sung"}]},
    )
    assert decided.status_code == 200, decided.text
    page = client.get("/duyet")
    assert heading(page.text).endswith("tháng 10/2026") and "KHBD Toán — Số thập phân" in page.text
    assert 'href="/duyet?period=2026-11"' not in page.text
    # a period asked for by name still opens, waiting or not
    assert "KHBD Toán — Phân số" in client.get("/duyet", params={"period": "2026-11"}).text


@on_dates("first-of-december", "first-of-august")
def test_with_nothing_waiting_the_queue_opens_on_this_month(client: TestClient, world: World, clock: datetime) -> None:
    page_login(client, "ht.hoa")
    page = client.get("/duyet")
    month = calendar.this_month()
    assert heading(page.text).endswith(f"tháng {month[5:]}/{month[:4]}")
    assert "Các kỳ còn chờ" not in page.text


@on_dates()
def test_the_plain_form_keeps_every_choice_when_a_decision_is_refused(
    client: TestClient, world: World, clock: datetime
) -> None:
    """Without the page's script: a return without a comment comes back with the message beside the
    form and each choice and comment as they were; nothing is recorded. A Word plan has no preview."""
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    first = plan_for(client, lan, "KHBD Toán — Phân số", 11)
    second = plan_for(client, lan, "KHBD Khoa học — Nước", 11)
    body = json.dumps(factories.meta(title="KHBD Tiếng Việt — Tập đọc", month=11, school_year=SCHOOL_YEAR))
    word = client.post(
        "/api/v1/records",
        headers=lan,
        files={"metadata": (None, body), "file": ("khbd.docx", factories.docx_bytes())},
    ).json()
    third = client.post(f"/api/v1/records/{word['id']}/submit", headers=lan, json={}).json()
    batch_id = first["batch_id"]

    page_login(client, "ht.hoa")
    page = client.get("/duyet").text
    assert f"/api/v1/records/{first['record_id']}/versions/1/pages/1.png?width=120" in page  # thumbnails
    assert 'loading="lazy"' in page and "Chưa có bản xem trước" in page  # the Word plan has none yet
    assert 'target="_blank"' not in page
    assert f'action="/duyet/{batch_id}/ky"' in page  # the signing form is there from the start
    refused = client.post(
        f"/duyet/{batch_id}/quyet-dinh",
        data={
            "csrf_token": csrf_of(page),
            "period": "2026-11",
            f"d-{first['id']}": "approved",
            f"d-{second['id']}": "returned",
            f"c-{third['id']}": "Ghi chú để dành",
        },
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and "hãy ghi nhận xét" in refused.text
    assert re.search(rf'name="d-{first["id"]}" value="approved" checked', refused.text)
    assert re.search(rf'name="d-{second["id"]}" value="returned" checked', refused.text)
    assert re.search(rf'id="c-{second["id"]}" name="c-{second["id"]}" value="" aria-invalid="true"', refused.text)
    assert 'value="Ghi chú để dành"' in refused.text
    assert client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()["counts"]["pending"] == 3  # none kept

    signing = client.post(f"/duyet/{batch_id}/ky", data={"csrf_token": csrf_of(page)}, files={"pkcs12": ("", b"")})
    assert signing.status_code == 422 and f'id="loi-ky-{batch_id}" role="alert"' in signing.text  # refused beside it
    assert client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()["state"] == "open"
