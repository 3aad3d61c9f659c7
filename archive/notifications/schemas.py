"""Notifications over HTTP: what a person is told, in both languages, and their e-mail choices."""

from __future__ import annotations

from pydantic import BaseModel, Field

from archive.schemas import IsoTime


class NotificationOut(BaseModel):
    id: int
    kind: str
    text: str
    text_en: str
    link: str
    created_at: IsoTime
    updated_at: IsoTime
    read: bool


class NotificationList(BaseModel):
    unread: int
    items: list[NotificationOut]


class ReadIn(BaseModel):
    ids: list[int] | None = Field(
        default=None, max_length=500, description="Which to mark read (at most 500); all of them when absent"
    )


class ReadOut(BaseModel):
    marked: int
    unread: int


class ChoicesIn(BaseModel):
    email: dict[str, bool] = Field(description="Notification kind → whether it is also sent by e-mail")


class ChoicesOut(BaseModel):
    email: dict[str, bool]
    smtp_configured: bool
    address: str | None
