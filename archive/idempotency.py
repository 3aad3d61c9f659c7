"""`Idempotency-Key` on POST /records: a retry whose first answer was lost returns the first record.

On a school's weak connection the teacher's browser (or a script) often cannot tell whether an
upload that timed out was stored. Sending it again with the same key is then always safe: the key
is written in the record's own transaction (`remember`), so either both exist or neither, and a
second request with the key is answered with the record the first one made (`replay`). Two
requests racing with one key: the second's commit fails on the primary key and it answers with
the first's record.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.exceptions import InvalidInput
from archive.models import IdempotencyKey, Person, Record

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as the IETF draft's examples (a UUID fits)


def checked(key: str | None) -> str | None:
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidInput(
            "Tiêu đề Idempotency-Key phải gồm 1–200 ký tự ASCII nhìn thấy được (ví dụ một UUID).",
            "The Idempotency-Key header must be 1–200 visible ASCII characters (a UUID, say).",
        )
    return key


def replay(session: Session, actor: Person, key: str) -> Record | None:
    """The record an earlier request of this person made with this key, if any."""
    found = session.scalar(
        select(Record)
        .join(IdempotencyKey, IdempotencyKey.record_id == Record.id)
        .where(IdempotencyKey.person_id == actor.id, IdempotencyKey.key == key)
    )
    session.commit()
    return found


def remember(session: Session, actor: Person, key: str) -> Callable[[Record], None]:
    """The hook `ingest.create_record` runs inside the record's transaction."""

    def add(record: Record) -> None:
        session.add(IdempotencyKey(person_id=actor.id, key=key, record_id=record.id))

    return add
