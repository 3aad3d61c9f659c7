"""The audit chain: intact after real work, broken visibly by an edit, a deletion or a fork."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from archive import audit
from archive.db import make_sessionmaker, write_transaction
from archive.models import AuditEvent
from tests.factories import World


def test_chain_verifies_after_work(session: Session, world: World) -> None:
    report = audit.verify_chain(session)
    assert report.ok, report.problems
    assert report.checked == session.scalar(select(func.count()).select_from(AuditEvent))


def test_edited_event_is_detected(session: Session, world: World) -> None:
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone-else"))
    session.commit()
    report = audit.verify_chain(session)
    assert any("event 3: content was altered" in p for p in report.problems)


def test_deleted_event_is_detected(session: Session, world: World) -> None:
    session.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    session.commit()
    problems = audit.verify_chain(session).problems
    assert any("events 4..4 are missing" in p for p in problems)
    assert any("event 5: does not link" in p for p in problems)


def test_deleted_tail_is_detected(session: Session, world: World) -> None:
    last = session.scalar(select(func.max(AuditEvent.seq)))
    session.execute(delete(AuditEvent).where(AuditEvent.seq == last))
    session.commit()
    assert any("head records" in p for p in audit.verify_chain(session).problems)


def test_concurrent_appenders_never_fork_the_chain(engine: Engine, world: World) -> None:
    sessions = make_sessionmaker(engine)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with sessions() as s:
                for i in range(15):
                    with write_transaction(s):
                        s.scalar(select(func.count()).select_from(AuditEvent))  # read inside the lock
                        audit.append(s, actor=None, action="test.concurrent", object_type="t", object_id=f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with sessions() as s:
        report = audit.verify_chain(s)
        assert report.ok, report.problems
        assert s.scalar(select(func.count()).where(AuditEvent.action == "test.concurrent")) == 90
