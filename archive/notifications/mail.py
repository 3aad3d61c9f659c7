"""Sending one notification by e-mail over SMTP (the standard library's smtplib: one message per
job, no queue of its own — the jobs table retries it with back-off when the server is down)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from archive.models import Person
from archive.notifications.models import Notification
from archive.notifications.texts import text
from archive.settings import ArchiveSettings


def configured(settings: ArchiveSettings) -> bool:
    return bool(settings.smtp_host)


def subject(said: str, limit: int = 150) -> str:
    """One header line: a principal's comment may hold line breaks (a header cannot) and run long;
    the whole comment is in the body."""
    line = " ".join(said.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def message(settings: ArchiveSettings, person: Person, notification: Notification) -> EmailMessage:
    """The e-mail: Vietnamese subject and body, English below, the link to open it in hoso."""
    vi = text(notification.kind, notification.params, "vi")
    en = text(notification.kind, notification.params, "en")
    base = settings.public_url.rstrip("/")
    link = f"{base}/thong-bao/{notification.id}"
    msg = EmailMessage()
    msg["Subject"] = f"[hoso] {subject(vi)}"
    msg["From"] = settings.smtp_from
    msg["To"] = formataddr((person.full_name, person.email or ""))
    msg["Message-ID"] = make_msgid(domain="hoso")
    msg.set_content(
        f"Kính gửi {person.full_name},\n\n{vi}\n\nXem trong hồ sơ số: {link}\n\n"
        f"Bạn có thể chọn những thông báo nhận qua e-mail tại {base}/thong-bao.\n\n"
        f"-- \n{en}\n{link}\n"
    )
    return msg


def send(settings: ArchiveSettings, msg: EmailMessage) -> None:
    """Deliver over SMTP (STARTTLS when set, login when a user is set); raises on any refusal."""
    assert settings.smtp_host
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)
