"""Copies for use (issue #18 item 5) over the API: a read copy (pages only, watermarked, dated), a
BẢN SAO copy (every page marked, the original's bytes unchanged), an authenticated copy issued by
the school's clerk with the seal (pdfsig validates it), and the refusals."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import calendar
from archive.calendar import VN_TIME
from archive.models import AuditEvent, Person, Role
from flows.settings import Settings
from tests import factories
from tests.conftest import on_dates
from tests.factories import login, person
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.search.test_inspector_grants import grant_body
from tests.signing.test_approval_signing import nss_db, pdfsig


@pytest.fixture
def settings(settings: Settings, pki: TestPKI) -> Settings:
    """A trust store and a TSA: the seal's certificate is checked before it signs, and timestamped."""
    return settings.model_copy(update={"trust_roots": str(pki.root_pem_path()), "tsa_url": pki.tsa_url})


def upload(client: TestClient, headers: dict[str, str], title: str, **meta: object) -> dict:  # type: ignore[type-arg]
    body = json.dumps(factories.meta(title=title, school_year="2025-2026", month=11, **meta))
    pdf = factories.lesson_plan_pdf(title)
    response = client.post(
        "/api/v1/records", headers=headers, files={"metadata": (None, body), "file": ("khbd.pdf", pdf)}
    )
    assert response.status_code == 201, response.text
    return response.json() | {"sha256_sent": hashlib.sha256(pdf).hexdigest()}


@pytest.fixture
def inspection(client: TestClient, world: factories.World, session: Session) -> dict:  # type: ignore[type-arg]
    person(session, "tt.nam", Role.inspector, None)
    lan = login(client, "gv.lan")
    inside = upload(client, lan, "Kế hoạch bài dạy: Phân số")
    outside = upload(client, login(client, "gv.binh"), "Kế hoạch bài dạy trường B", school_code="THB")
    assert client.post("/api/v1/grants", headers=login(client, "ht.hoa"), json=grant_body()).status_code == 201
    return {"inside": inside, "outside": outside, "nam": login(client, "tt.nam"), "thu": login(client, "vt.thu")}


def ask(client: TestClient, headers: dict[str, str], record_id: str, kind: str, **more: object):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/copies", headers=headers, json={"record_id": record_id, "kind": kind, "purpose": "Thanh tra", **more}
    )


def audit_actions(session: Session) -> list[str]:
    session.commit()
    return list(
        session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("copy.%")).order_by(AuditEvent.seq))
    )


def original_hash(client: TestClient, headers: dict[str, str], record_id: str) -> str:
    response = client.get(f"/api/v1/records/{record_id}/versions/1/content", headers=headers)
    assert response.status_code == 200
    return hashlib.sha256(response.content).hexdigest()


def test_a_copy_is_marked_on_every_page_and_the_original_is_untouched(
    client: TestClient,
    inspection: dict,
    session: Session,  # type: ignore[type-arg]
) -> None:
    from pypdf import PdfReader

    nam, record = inspection["nam"], inspection["inside"]
    response = ask(client, nam, record["id"], "copy")
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["state"] == "issued" and made["number"] == "01/2026/BS"
    assert made["original_sha256"] == record["sha256_sent"]
    pdf = client.get(f"/api/v1/copies/{made['id']}/content", headers=nam)
    assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == made["sha256"]
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    assert len(pages) == 2
    for page in pages:
        text = page.extract_text()
        assert "BẢN SAO" in text and "Trường Tiểu học An Bình" in text and "Tt.Nam" in text
    assert original_hash(client, nam, record["id"]) == record["sha256_sent"]  # the original's bytes are the same
    second = ask(client, nam, record["id"], "copy").json()
    assert second["number"] == "02/2026/BS"  # numbered per school and year
    assert audit_actions(session) == ["copy.requested", "copy.issued", "copy.downloaded"] + [
        "copy.requested",
        "copy.issued",
    ]


def test_outside_the_grant_is_refused_and_audited(client: TestClient, inspection: dict, session: Session) -> None:  # type: ignore[type-arg]
    response = ask(client, inspection["nam"], inspection["outside"]["id"], "authenticated")
    assert response.status_code == 403
    assert "phạm vi quyết định thanh tra" in response.json()["message"]
    missing = ask(client, inspection["nam"], "khong-co-ho-so-nay", "copy")
    assert missing.status_code == 403  # a record that does not exist looks the same
    assert audit_actions(session) == ["copy.request_refused", "copy.request_refused"]
    # a reader of another school cannot ask either
    assert (
        ask(client, login(client, "gv.binh"), inspection["inside"]["id"], "read", read_until="2026-11-20").status_code
        == 403
    )


def test_bad_requests_are_refused_with_a_reason(client: TestClient, inspection: dict) -> None:  # type: ignore[type-arg]
    nam, record_id = inspection["nam"], inspection["inside"]["id"]
    assert ask(client, nam, record_id, "read").status_code == 422  # no end date
    assert ask(client, nam, record_id, "read", read_until="2026-11-01").status_code == 422  # past
    too_long = ask(client, nam, record_id, "read", read_until="2026-12-25")
    assert too_long.status_code == 422 and "quyền thanh tra" in too_long.json()["message"]  # grant ends first
    assert ask(client, nam, record_id, "copy", purpose=" ").status_code == 422
    assert ask(client, nam, record_id, "photocopy").status_code == 422


@on_dates("mid-november", "last-of-july")
def test_a_read_copy_is_pages_only_watermarked_and_ends_on_its_date(
    client: TestClient,
    inspection: dict,
    session: Session,
    clock: datetime,  # type: ignore[type-arg]
) -> None:
    from PIL import Image, ImageChops

    nam = inspection["nam"]
    until = (calendar.today() + timedelta(days=3)).isoformat()
    made = ask(client, nam, inspection["inside"]["id"], "read", read_until=until).json()
    assert made["state"] == "issued" and made["number"] is None
    assert client.get(f"/api/v1/copies/{made['id']}/pages", headers=nam).json()["pages"] == 2
    png = client.get(f"/api/v1/copies/{made['id']}/pages/1.png", headers=nam)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    plain = client.get(f"/api/v1/records/{inspection['inside']['id']}/versions/1/pages/1.png", headers=nam)
    marked, unmarked = Image.open(io.BytesIO(png.content)), Image.open(io.BytesIO(plain.content))
    assert marked.size == unmarked.size
    r, g, _b = marked.convert("RGB").split()
    red = sum(ImageChops.subtract(r, g).histogram()[41:])
    assert red > 1000  # the school's name is across the page, in red
    refused = client.get(f"/api/v1/copies/{made['id']}/content", headers=nam)
    assert refused.status_code == 403 and "không tải về" in refused.json()["message"]
    other = client.get(f"/api/v1/copies/{made['id']}/pages/1.png", headers=inspection["thu"])
    assert other.status_code == 404  # only the requester reads a read copy
    with calendar.pinned(datetime.combine(date.fromisoformat(until) + timedelta(days=1), datetime.min.time(), VN_TIME)):
        gone = client.get(f"/api/v1/copies/{made['id']}/pages/1.png", headers=login(client, "tt.nam"))
    assert gone.status_code == 410 and "hết hạn" in gone.json()["message"]
    assert audit_actions(session).count("copy.viewed") == 1


def test_an_authenticated_copy_is_issued_by_the_clerk_with_the_seal_and_validates(
    client: TestClient,
    inspection: dict,
    session: Session,
    pki: TestPKI,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    from pypdf import PdfReader

    nam, thu, record = inspection["nam"], inspection["thu"], inspection["inside"]
    asked = ask(client, nam, record["id"], "authenticated").json()
    assert asked["state"] == "requested"
    assert client.get(f"/api/v1/copies/{asked['id']}/content", headers=nam).status_code == 409  # not yet issued
    listed = client.get("/api/v1/copies", headers=thu).json()
    assert [c["id"] for c in listed] == [asked["id"]]
    teacher = client.post(
        f"/api/v1/copies/{asked['id']}/issue", headers=login(client, "gv.lan"), data={"key_source": "pkcs12"}
    )
    assert teacher.status_code == 403  # a teacher issues nothing
    wrong = issue(client, thu, asked["id"], pki.pkcs12("school_seal"), b"sai")
    assert wrong.status_code == 422 and "mật khẩu" in wrong.json()["message"]
    expired = issue(client, thu, asked["id"], pki.pkcs12("expired"))
    assert expired.status_code == 409 and "hết hạn" in expired.json()["message"]  # checked before it signs
    first_use = issue(client, thu, asked["id"], pki.pkcs12("school_seal"))  # the school's first seal: shown
    assert first_use.status_code == 409 and first_use.json()["error"] == "seal_unconfirmed", first_use.text
    shown = first_use.json()["detail"]["certificate"]
    assert first_use.json()["detail"]["name_matches"] is True  # the school's name is the certificate's
    assert shown["subject"] and shown["issuer"] and shown["serial"] and shown["not_after"]
    assert client.get("/api/v1/copies", headers=thu).json()[0]["state"] == "requested"  # nothing half-done
    done = issue(client, thu, asked["id"], pki.pkcs12("school_seal"), confirm=shown["fingerprint"])
    assert done.status_code == 200, done.text
    issued = done.json()
    assert issued["state"] == "issued" and issued["number"] == "01/2026/BS"
    assert "Trường Tiểu học An Bình" in issued["seal_subject"]
    again = issue(client, thu, asked["id"], pki.pkcs12("school_seal"))
    assert again.status_code == 409

    pdf = client.get(f"/api/v1/copies/{asked['id']}/content", headers=nam)
    assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == issued["sha256"]
    reader = PdfReader(io.BytesIO(pdf.content))
    first = reader.pages[0].extract_text()
    assert "TRANG XÁC THỰC BẢN SAO" in first and record["sha256_sent"][:32] in first and "01/2026/BS" in first
    assert all("BẢN SAO" in p.extract_text() for p in reader.pages[1:]) and len(reader.pages) == 3
    path = tmp_path / "ban-sao.pdf"
    path.write_bytes(pdf.content)
    report = pdfsig(path, nss_db(tmp_path, pki))
    assert "Signature is Valid." in report and "ETSI.CAdES.detached" in report
    assert original_hash(client, nam, record["id"]) == record["sha256_sent"]
    assert audit_actions(session)[-3:] == ["copy.requested", "copy.issued", "copy.downloaded"]


def issue(  # type: ignore[no-untyped-def]
    client: TestClient,
    headers: dict[str, str],
    copy_id: str,
    p12: bytes,
    password: bytes = PKCS12_PASSWORD,
    confirm: str | None = None,
):
    return client.post(
        f"/api/v1/copies/{copy_id}/issue",
        headers=headers,
        data={"key_source": "pkcs12", "password": password.decode(), **({"confirm_seal": confirm} if confirm else {})},
        files={"pkcs12": ("con-dau.p12", p12)},
    )


def test_the_clerk_refuses_with_a_reason_and_another_school_cannot_decide(
    client: TestClient,
    inspection: dict,
    session: Session,  # type: ignore[type-arg]
) -> None:
    asked = ask(client, inspection["nam"], inspection["inside"]["id"], "authenticated").json()
    person(session, "vt.binh", Role.clerk, "THB")
    other = client.post(
        f"/api/v1/copies/{asked['id']}/refusal", headers=login(client, "vt.binh"), json={"reason": "Không"}
    )
    assert other.status_code == 403
    short = client.post(f"/api/v1/copies/{asked['id']}/refusal", headers=inspection["thu"], json={"reason": ""})
    assert short.status_code == 422
    done = client.post(
        f"/api/v1/copies/{asked['id']}/refusal", headers=inspection["thu"], json={"reason": "Ngoài nội dung thanh tra"}
    )
    assert done.status_code == 200 and done.json()["state"] == "refused"
    assert audit_actions(session)[-1] == "copy.refused"


def test_the_issuers_hear_of_an_authenticated_request_and_the_requester_of_the_decision(
    client: TestClient,
    inspection: dict,  # type: ignore[type-arg]
    session: Session,
) -> None:
    from archive.notifications.models import Notification, NotificationKind
    from flows import notifications

    def told(username: str, kind: NotificationKind) -> list[Notification]:
        session.commit()
        return list(
            session.scalars(
                select(Notification)
                .join(Person, Person.id == Notification.person_id)
                .where(Person.username == username, Notification.kind == kind.value)
            )
        )

    ask(client, inspection["nam"], inspection["inside"]["id"], "copy")  # ready at once: nobody waits
    asked = ask(client, inspection["nam"], inspection["inside"]["id"], "authenticated").json()
    notifications.follow(session)
    waiting = told("vt.thu", NotificationKind.copy_waiting) + told("ht.hoa", NotificationKind.copy_waiting)
    assert [n.key for n in waiting] == [asked["id"], asked["id"]] and all(n.read_at is None for n in waiting)
    assert not told("gv.lan", NotificationKind.copy_waiting) and not told("tt.nam", NotificationKind.copy_decided)

    refused = client.post(
        f"/api/v1/copies/{asked['id']}/refusal", headers=inspection["thu"], json={"reason": "Ngoài nội dung thanh tra"}
    )
    assert refused.status_code == 200
    notifications.follow(session)
    (decided,) = told("tt.nam", NotificationKind.copy_decided)
    assert decided.link == "/ban-sao" and "Ngoài nội dung thanh tra" in decided.params["outcome_vi"]
    settled = told("vt.thu", NotificationKind.copy_waiting) + told("ht.hoa", NotificationKind.copy_waiting)
    assert all(n.read_at is not None for n in settled)  # the principal no longer sees it waiting
