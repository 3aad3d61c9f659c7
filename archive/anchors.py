"""The audit chain's head, anchored outside the database, in the WORM store.

The chain (`archive.audit`) proves that no event inside it was edited or removed, but not that
its end is where it was: whoever can write SQL can delete the last events and set `audit_head` to
the event before them, and the walk finds a perfect, shorter chain. So at every fixity run, and
daily from the worker, the head (seq, hash, time) is written as a new object
`audit/anchors/<seq>-<hash>.json`, retained in the store (COMPLIANCE on S3: nobody can delete it
early, not even the bucket's owner); `hoso audit verify` then checks every anchor against the
database: each anchored event must still be there with the same hash.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.models import AuditEvent, AuditHead
from archive.storage import ObjectExists, ObjectStore

PREFIX = "audit/anchors/"
FORMAT = "hoso.audit-anchor/1"
# The audit log is kept as long as the longest record: an anchor is locked for the longest fixed
# term the Archives Law allows (70 years); store locks run on the store's own, real clock.
RETENTION = timedelta(days=70 * 366)
BATCH = 500


@dataclass(frozen=True)
class Anchor:
    key: str
    seq: int
    hash: str


def anchor_key(seq: int, hash_: str) -> str:
    # zero-padded: the store lists anchors in the order of the events they anchor
    return f"{PREFIX}{seq:012d}-{hash_}.json"


def write(session: Session, store: ObjectStore) -> Anchor | None:
    """Write the current head as an anchor (None while the log is empty); an anchor of this head
    written before is already right."""
    head = session.get(AuditHead, 1, populate_existing=True)
    session.commit()
    if head is None or head.seq == 0:
        return None
    anchor = Anchor(anchor_key(head.seq, head.hash), head.seq, head.hash)
    body = json.dumps(
        {"format": FORMAT, "seq": head.seq, "hash": head.hash, "anchored_at": utcnow().isoformat()}, sort_keys=True
    ).encode()
    try:
        store.put(anchor.key, io.BytesIO(body), len(body), content_type="application/json")
    except ObjectExists:
        return anchor
    store.set_retention(anchor.key, datetime.now(UTC) + RETENTION)
    return anchor


def parse(key: str) -> Anchor | None:
    """The anchor a key names (its name carries seq and hash), or None for anything else there."""
    name = key.removeprefix(PREFIX)
    if key == name or not name.endswith(".json"):
        return None
    seq, _, hash_ = name.removesuffix(".json").partition("-")
    if not seq.isdigit() or len(hash_) != 64 or any(c not in "0123456789abcdef" for c in hash_):
        return None
    return Anchor(key, int(seq), hash_)


def listed(store: ObjectStore) -> Iterator[Anchor]:
    for key in store.list(PREFIX):
        anchor = parse(key)
        if anchor is not None:
            yield anchor


@dataclass
class AnchorReport:
    checked: int
    newest: Anchor | None
    problems: list[str]


def verify(session: Session, store: ObjectStore) -> AnchorReport:
    """Every anchor in the store against the database: its event present, with its hash, and the
    head at or past it. Anchors are read in batches; the log's events are looked up by seq."""
    head = session.get(AuditHead, 1, populate_existing=True)
    head_seq = head.seq if head is not None else 0
    problems: list[str] = []
    checked = 0
    newest: Anchor | None = None
    batch: list[Anchor] = []

    def check(anchors: list[Anchor]) -> None:
        found = dict(
            session.execute(
                select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_([a.seq for a in anchors]))
            ).all()
        )
        for a in anchors:
            if a.seq > head_seq:
                problems.append(
                    f"anchor {a.key}: event {a.seq} was anchored but the database chain ends at event {head_seq} "
                    "(events were deleted and the head rewritten)"
                )
            elif a.seq not in found:
                problems.append(f"anchor {a.key}: event {a.seq} is missing from the database")
            elif found[a.seq] != a.hash:
                problems.append(f"anchor {a.key}: event {a.seq} has hash {found[a.seq]}, the anchor {a.hash}")

    for anchor in listed(store):
        checked += 1
        if newest is None or anchor.seq > newest.seq:
            newest = anchor
        batch.append(anchor)
        if len(batch) >= BATCH:
            check(batch)
            batch = []
    if batch:
        check(batch)
    session.commit()
    problems.sort()
    return AnchorReport(checked=checked, newest=newest, problems=problems)
