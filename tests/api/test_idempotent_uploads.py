"""A teacher whose answer was lost sends the upload again: the same record comes back, never a
duplicate — on POST /records with an Idempotency-Key, and on the resumable upload's last chunk."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import uploads
from archive.models import Record, UploadSession
from tests.api.test_resumable_uploads import send, start
from tests.factories import World, lesson_plan_pdf, login, meta, mp4_bytes


def post(client: TestClient, headers: dict[str, str], title: str, key: str | bytes | None = None):  # type: ignore[no-untyped-def]
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(
        "/api/v1/records",
        headers={**headers, **extra},
        files={"metadata": (None, json.dumps(meta(title=title))), "file": ("khbd.pdf", lesson_plan_pdf(title))},
    )


def records(session: Session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(Record)) or 0


def test_the_same_key_returns_the_first_record(client: TestClient, world: World, session: Session) -> None:
    lan, minh = login(client, "gv.lan"), login(client, "gv.minh")
    first = post(client, lan, "KHBD Toán — Phân số", key="7d0c6f1e-upload-1")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = post(client, lan, "KHBD Toán — Phân số", key="7d0c6f1e-upload-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and records(session) == 1
    other_teacher = post(client, minh, "KHBD Khoa học", key="7d0c6f1e-upload-1")  # keys are per person
    assert other_teacher.status_code == 201 and other_teacher.json()["id"] != first.json()["id"]
    assert post(client, lan, "KHBD Toán — Phân số").json()["id"] != first.json()["id"]  # no key: a new record
    assert records(session) == 3


@pytest.mark.parametrize("bad", ["", "x" * 201, "khóa".encode("latin-1"), "two words"])
def test_a_malformed_key_is_refused_and_nothing_stored(
    client: TestClient, world: World, session: Session, bad: str | bytes
) -> None:
    refused = post(client, login(client, "gv.lan"), "KHBD", key=bad)
    assert refused.status_code == 422 and "Idempotency-Key" in refused.json()["message"]
    assert records(session) == 0


def test_a_last_chunk_whose_record_did_not_commit_is_sent_again_and_makes_one_record(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash lands inside the record's transaction: nothing of it commits, the offset stays."""
    lan = login(client, "gv.lan")
    data = mp4_bytes(2 * 1024 * 1024)
    upload_id = start(client, lan, data).json()["id"]
    assert send(client, lan, upload_id, 0, data[: 1024 * 1024]).status_code == 200
    real = uploads.ingest.create_record

    def dies_before_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
        def within(record: Record) -> None:
            kwargs["within"](record)
            raise OSError("the server lost power")

        return real(*args, **{**kwargs, "within": within})

    monkeypatch.setattr(uploads.ingest, "create_record", dies_before_commit)
    with pytest.raises(OSError):
        send(client, lan, upload_id, 1024 * 1024, data[1024 * 1024 :])
    monkeypatch.undo()
    session.commit()
    upload = session.get(UploadSession, upload_id, populate_existing=True)
    assert upload is not None and (upload.state, upload.offset) == ("open", 1024 * 1024) and records(session) == 0
    done = send(client, lan, upload_id, 1024 * 1024, data[1024 * 1024 :])
    assert done.status_code == 200 and done.json()["state"] == "done", done.text
    assert (
        send(client, lan, upload_id, 1024 * 1024, data[1024 * 1024 :]).json()["record_id"] == done.json()["record_id"]
    )
    assert records(session) == 1
