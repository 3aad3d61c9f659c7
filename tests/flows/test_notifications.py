"""Notifications follow the audit log: the right person is told once, the count stays current, and
e-mails reach a real SMTP server (aiosmtpd, started here) only for those who want them."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive.models import Job, Person
from archive.notifications import service as notify
from archive.notifications.models import Notification, NotificationKind
from flows import notifications
from flows.settings import Settings
from tests.factories import World, login
from tests.signing.conftest import submit, upload_plan
from tests.web.test_pages_http import csrf_of, page_login


class _Inbox:
    """aiosmtpd's handler: every message the server accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def wait_for(self, count: int, deadline: float = 30) -> list[EmailMessage]:
        end = time.monotonic() + deadline
        while len(self.messages) < count and time.monotonic() < end:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def inbox() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = _Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def settings(settings: Settings, inbox: tuple[_Inbox, int]) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox[1],
            "smtp_starttls": False,
            "public_url": "https://hoso.test",
        }
    )


def _with_email(session: Session, *usernames: str) -> None:
    session.commit()
    for username in usernames:
        session.execute(update(Person).where(Person.username == username).values(email=f"{username}@truong.edu.vn"))
    session.commit()


def _told(session: Session, username: str) -> list[Notification]:
    notifications.follow(session)
    session.expire_all()
    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None
    return notify.recent(session, person)


def test_the_principal_sees_one_current_count_and_the_teacher_sees_the_return(
    client: TestClient, world: World, session: Session, inbox: tuple[_Inbox, int]
) -> None:
    _with_email(session, "ht.hoa", "gv.lan")
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    items = [submit(client, lan, upload_plan(client, lan, f"Toán 5 — Bài {n}")["id"]) for n in range(3)]
    (waiting,) = _told(session, "ht.hoa")
    assert waiting.kind == NotificationKind.plans_waiting and waiting.params["count"] == 3
    assert waiting.link == "/duyet?period=2026-11" and waiting.read_at is None

    box = inbox[0]
    (sent,) = box.wait_for(1)  # three submissions, one e-mail
    assert sent["To"].addresses[0].addr_spec == "ht.hoa@truong.edu.vn"
    assert sent["Subject"].startswith("[hoso] ") and sent["Subject"].endswith(" kế hoạch chờ duyệt tháng 11/2026")
    assert f"https://hoso.test/thong-bao/{waiting.id}" in sent.get_content()

    decided = client.post(
        f"/api/v1/approvals/{items[0]['batch_id']}/decisions",
        headers=hoa,
        json={"decisions": [{"item_id": items[0]["id"], "decision": "returned", "comment": "Bổ sung mục tiêu"}]},
    )
    assert decided.status_code == 200, decided.text
    (returned,) = _told(session, "gv.lan")
    assert returned.kind == NotificationKind.plan_returned
    assert notify_text(returned) == "Kế hoạch «Toán 5 — Bài 0» bị trả lại: Bổ sung mục tiêu"
    assert returned.link == f"/ho-so/{items[0]['record_id']}"
    (waiting,) = _told(session, "ht.hoa")
    assert waiting.params["count"] == 2  # the same line, its count now
    assert [m["To"].addresses[0].username for m in box.wait_for(2)] == ["ht.hoa", "gv.lan"]
    assert len(_told(session, "gv.minh")) == 0  # nobody else is told


def notify_text(found: Notification) -> str:
    from archive.notifications.texts import text

    return text(found.kind, found.params)


def test_read_then_fewer_waiting_stays_read_and_more_waiting_is_new_again(
    client: TestClient, world: World, session: Session
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    items = [submit(client, lan, upload_plan(client, lan, f"Bài {n}")["id"]) for n in range(2)]
    assert len(_told(session, "ht.hoa")) == 1
    assert client.post("/api/v1/notifications/read", headers=hoa, json={}).json() == {"marked": 1, "unread": 0}
    decisions = {"decisions": [{"item_id": items[0]["id"], "decision": "approved"}]}
    assert client.post(f"/api/v1/approvals/{items[0]['batch_id']}/decisions", headers=hoa, json=decisions).is_success
    (waiting,) = _told(session, "ht.hoa")
    assert waiting.params["count"] == 1 and waiting.read_at is not None  # her own decision: no new alert
    submit(client, lan, upload_plan(client, lan, "Bài mới")["id"])
    (waiting,) = _told(session, "ht.hoa")
    assert waiting.params["count"] == 2 and waiting.read_at is None
    decisions = {"decisions": [{"item_id": i["id"], "decision": "approved"} for i in items[1:]]}
    assert client.post(f"/api/v1/approvals/{items[0]['batch_id']}/decisions", headers=hoa, json=decisions).is_success
    listed = client.get("/api/v1/notifications", headers=hoa).json()
    assert listed["items"][0]["text"] == "2 kế hoạch chờ duyệt tháng 11/2026"
    assert listed["items"][0]["text_en"] == "2 plans wait for approval (2026-11)"


def test_an_event_is_told_once_however_often_the_log_is_followed(
    client: TestClient, world: World, session: Session
) -> None:
    lan = login(client, "gv.lan")
    submit(client, lan, upload_plan(client, lan, "Bài 1")["id"])
    (first,) = _told(session, "ht.hoa")
    head = notifications.follow(session)
    assert notifications.follow(session) == head and notifications.follow(session, seen=head) == head
    (again,) = _told(session, "ht.hoa")
    assert session.scalar(select(func.count()).select_from(Notification)) == 1
    assert (again.id, again.updated_at) == (first.id, first.updated_at)  # not told twice


def test_no_email_for_a_kind_the_person_turned_off_or_without_an_address(
    client: TestClient, world: World, session: Session, inbox: tuple[_Inbox, int]
) -> None:
    _with_email(session, "ht.hoa")
    hoa, lan = login(client, "ht.hoa"), login(client, "gv.lan")
    off = client.put("/api/v1/notifications/choices", headers=hoa, json={"email": {"plans_waiting": False}})
    assert off.status_code == 200 and off.json()["email"]["plans_waiting"] is False
    assert off.json()["smtp_configured"] is True and off.json()["address"] == "ht.hoa@truong.edu.vn"
    bad = client.put("/api/v1/notifications/choices", headers=hoa, json={"email": {"moi_thu": True}})
    assert bad.status_code == 422 and "Loại thông báo" in bad.json()["message"]
    item = submit(client, lan, upload_plan(client, lan, "Bài 1")["id"])
    assert len(_told(session, "ht.hoa")) == 1  # told in the app
    decisions = {"decisions": [{"item_id": item["id"], "decision": "returned", "comment": "Sửa"}]}
    assert client.post(f"/api/v1/approvals/{item['batch_id']}/decisions", headers=hoa, json=decisions).is_success
    assert len(_told(session, "gv.lan")) == 1  # told in the app
    emailed = session.scalar(select(func.count()).select_from(Job).where(Job.kind == notify.EMAIL_JOB))
    assert emailed == 0  # she chose the app only; he has no address


def test_the_page_lists_opens_and_saves_choices_and_nobody_opens_anothers(
    client: TestClient, world: World, session: Session
) -> None:
    lan = login(client, "gv.lan")
    submit(client, lan, upload_plan(client, lan, "Bài 1")["id"])
    (waiting,) = _told(session, "ht.hoa")
    page_login(client, "gv.lan")
    assert client.get(f"/thong-bao/{waiting.id}", follow_redirects=False).headers["location"] == "/thong-bao"
    client.cookies.clear()
    page_login(client, "ht.hoa")
    page = client.get("/thong-bao")
    assert page.status_code == 200 and "1 kế hoạch chờ duyệt tháng 11/2026" in page.text and "Mới" in page.text
    opened = client.get(f"/thong-bao/{waiting.id}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/duyet?period=2026-11"
    session.commit()  # a fresh read
    assert session.get(Notification, waiting.id, populate_existing=True).read_at is not None  # type: ignore[union-attr]
    saved = client.post(
        "/thong-bao/lua-chon",
        data={"csrf_token": csrf_of(client.get("/thong-bao").text), "email": ["plan_returned"]},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/thong-bao?saved=1"
    choices = client.get("/api/v1/notifications/choices", headers=login(client, "ht.hoa")).json()["email"]
    assert choices == {
        "plan_returned": True,
        "plans_waiting": False,
        "plans_signed": False,
        "evidence_ready": False,
        "copy_waiting": False,
        "copy_decided": False,
    }
    refused = client.post("/thong-bao/da-doc", data={"csrf_token": "gia-mao"}, follow_redirects=False)
    assert refused.status_code == 403


def test_a_pass_over_events_that_concern_nobody_writes_nothing(world: World, session: Session) -> None:
    """People, schools and logins tell nobody: the follower reads past them without taking the lock."""
    from archive.models import AuditEvent
    from archive.notifications.models import NotificationCursor

    session.commit()
    head = session.scalar(select(func.max(AuditEvent.seq)))
    assert head and notifications.follow(session) == head
    session.commit()
    assert session.get(NotificationCursor, 1, populate_existing=True) is None or (
        session.get(NotificationCursor, 1).seq == 0  # type: ignore[union-attr]
    )
    assert session.scalar(select(func.max(AuditEvent.seq))) == head  # and appended nothing


def test_a_comment_with_line_breaks_makes_a_one_line_subject() -> None:
    from archive.notifications.mail import subject

    said = "Kế hoạch «Toán 5» bị trả lại: dòng 1\ndòng 2\r\n" + "rất dài " * 40
    line = subject(said)
    assert (
        "\n" not in line
        and "\r" not in line
        and len(line) <= 150
        and line.startswith("Kế hoạch «Toán 5» bị trả lại: dòng 1 dòng 2")
    )
