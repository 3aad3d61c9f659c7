"""Periodic work under a lease row: one worker in the whole deployment takes it, when it is due,
and a worker that died is passed over once its lease lapses (issue #17)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import calendar, leases
from archive.models import Lease
from flows.settings import Settings
from flows.state import AppState
from flows.worker import PERIODIC, Worker
from retention.models import FixityRun

LEASE = timedelta(minutes=5)
DAY = timedelta(hours=24)


def test_one_holder_at_a_time_and_only_when_due(session: Session) -> None:
    assert leases.take(session, "sweep", "a", LEASE, DAY)
    assert not leases.take(session, "sweep", "b", LEASE, DAY)  # a holds it
    leases.release(session, "sweep", "b", done=True)  # not b's to give back: nothing changes
    assert not leases.take(session, "sweep", "b", LEASE, DAY)
    leases.release(session, "sweep", "a", done=True)
    assert not leases.take(session, "sweep", "b", LEASE, DAY)  # free, but done a moment ago
    with calendar.pinned(calendar.now() + DAY + timedelta(minutes=1)):
        assert leases.take(session, "sweep", "b", LEASE, DAY)  # due again the next day
    assert session.scalar(select(func.count()).select_from(Lease)) == 1


def test_a_run_cut_short_is_due_again_and_a_dead_holder_is_passed_over(session: Session) -> None:
    assert leases.take(session, "fixity", "a", LEASE)
    leases.release(session, "fixity", "a", done=False)  # stopped by a shutdown: not done
    assert leases.take(session, "fixity", "b", LEASE, DAY)
    with calendar.pinned(calendar.now() + LEASE / 2):
        assert leases.renew(session, "b", LEASE) == 1  # b's heartbeat
    with calendar.pinned(calendar.now() + LEASE):
        assert not leases.take(session, "fixity", "c", LEASE)  # renewed: still b's
    with calendar.pinned(calendar.now() + 2 * LEASE):
        assert leases.take(session, "fixity", "c", LEASE)  # b went silent (it died): c takes over
        assert leases.renew(session, "b", LEASE) == 0


def test_two_workers_run_the_periodic_work_once(settings: Settings, session: Session) -> None:
    """Two workers (as two `hoso worker` processes would) both find the day's work due at once:
    one runs it, with its fixity pass; the other runs nothing."""
    every = settings.model_copy(update={"fixity_interval_hours": 24})
    first, second = Worker(AppState.open(every)), Worker(AppState.open(every))
    second.name = first.name.replace(":worker", ":worker-2")
    ran: list[bool] = []
    both = [threading.Thread(target=lambda w=w: ran.append(w.run_periodic_if_due(DAY))) for w in (first, second)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert sorted(ran) == [False, True]
    assert session.scalar(select(func.count()).select_from(FixityRun)) == 1
    assert not first.run_periodic_if_due(DAY) and not second.run_periodic_if_due(DAY)  # done today
    lease = session.get(Lease, PERIODIC, populate_existing=True)
    assert lease is not None and lease.holder is None and lease.last_done_at is not None
    for worker in (first, second):
        worker.state.engine.dispose()
