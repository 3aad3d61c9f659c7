"""The background worker of `hoso serve`: it runs the jobs table's work inside the serving process.

Index updates are drained in batches every moment (or at once when a request wakes the worker);
evidence packages and handed-over dossiers' SIPs are built one at a time between them, and
renditions a few per office process (flows/renditions). Claimed jobs are leases (`archive.jobs`):
a heartbeat thread renews this worker's, and every worker puts back the jobs of one that went
silent, so a crash between a commit and its follow-up work is repaired within a lease while the
other servers run, and at the next start. Several server processes may run workers: jobs are
claimed with SKIP LOCKED. It runs inside `hoso serve` (the one-machine default) or alone as
`hoso worker`, any number of them: the periodic work (the retention sweep, store locks, the audit
anchor, the fixity pass) is taken through a lease row (`archive.leases`), so one worker in the whole
deployment runs it when it is due, never two at once; before, each process kept its own "last
sweep" in memory and every process ran it. Work queued by a web process wakes a worker in the same
process at once and a worker elsewhere within its idle poll (`IDLE_SECONDS`).

Stopping (SIGTERM to `hoso serve`) sets `AppState.stopping`; the long work checks it (fixity every
MiB hashed, an evidence package every MiB packed, the indexer between batches), ends, and puts its
job back in the queue. Before, the lifespan waited up to 60 s for the worker while a fixity run
hashed on, and `hoso serve` hung over 15 s after SIGTERM.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import anchors, calendar, jobs, leases, sidecar
from archive.models import Job
from archive.notifications import service as notify
from flows import notifications
from flows.blobs import record_blobs
from flows.dossier_package import handover_sips
from flows.evidence import package as evidence_package
from flows.renditions import ocr, recording
from flows.renditions import run as renditions
from flows.state import AppState
from retention import fixity, schedule
from retention import service as retention
from retention.dossiers import closing as dossier_closing
from retention.dossiers import filing as dossier_filing
from retention.dossiers import handover
from retention.models import FixityRun, FixityState
from search import indexer

log = logging.getLogger(__name__)
IDLE_SECONDS = 0.5
STOP_SECONDS = 4  # after the ≤ 5 s the open requests get: `hoso serve` ends within 10 s of SIGTERM
PERIODIC_LOOK_SECONDS = 60  # how often a worker asks the lease row whether the periodic work is due
PERIODIC_RETRY_SECONDS = 900  # after a failed periodic pass, this worker tries again this much later
PERIODIC, FIXITY = "periodic", "fixity"  # lease names


class Worker:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.name = f"{socket.gethostname()}:{os.getpid()}:worker"
        self._stop = state.stopping
        self._thread = threading.Thread(target=self._loop, name="hoso-worker", daemon=True)
        self._heart = threading.Thread(target=self._heartbeat, name="hoso-worker-heartbeat", daemon=True)
        self._media = threading.Thread(target=self._media_loop, name="hoso-worker-media", daemon=True)
        self.lease = timedelta(seconds=state.settings.job_lease_seconds)
        self._told_up_to = 0  # the audit log read by the notification follower (flows/notifications.py)

    def start(self) -> None:
        with self.state.sessions() as session:
            jobs.requeue_stale(session, self.lease)
            # a crash between a commit and its sidecars' seals: seal them while the database knows
            sealed = sidecar.seal_missing(session, self.state.store, since=calendar.now() - timedelta(days=1))
            if sealed:
                log.warning("sealed %d committed sidecars a crash had left unsealed", sealed)
        self._heart.start()
        self._thread.start()
        if self.state.settings.rendition_worker:
            self._media.start()

    def stop(self) -> None:
        log.info("stopping the background worker")
        self._stop.set()
        self.state.wake()
        if self._thread.is_alive():
            self._thread.join(timeout=STOP_SECONDS)
        if self._thread.is_alive():
            log.warning(
                "the background worker did not stop within %s s; leaving it (its job's lease lapses)", STOP_SECONDS
            )
        else:
            log.info("background worker stopped")
        for thread in (self._heart, self._media):
            if thread.is_alive():
                thread.join(timeout=STOP_SECONDS)

    def _heartbeat(self) -> None:
        """Every third of the lease: renew what this worker holds, put back what a dead one held."""
        while not self._stop.wait(self.lease.total_seconds() / 3):
            try:
                with self.state.sessions() as session:
                    jobs.renew(session, self.name)
                    leases.renew(session, self.name, self.lease)
                    if jobs.requeue_stale(session, self.lease):
                        self.state.wake()
            except Exception:
                log.exception("the worker's heartbeat failed; retrying")

    def _loop(self) -> None:
        next_look = 0.0  # the first look is at start
        try:
            with self.state.sessions() as session:
                sealed = sidecar.seal_archive(session, self.state.store)  # once per archive
            if sealed:
                log.info("sealed %d sidecars written before seals existed", sealed)
        except Exception:
            log.exception("could not seal the archive's older sidecars; next start tries again")
        while not self._stop.is_set():
            self.state.woken.clear()
            try:
                indexer.drain(
                    self.state.sessions,
                    self.state.search,
                    self.state.describe,
                    2000,
                    self.retention_follow_up,
                    stop=self._stop,
                )
                self.tell_people()
                self.run_one_export()
                self.run_one_sip()
                if self.state.settings.rendition_worker:
                    renditions.run_batch(self.state, self.name)  # recordings and scans: `_media_loop`
                self.run_fixity_job()
                hours = self.state.settings.retention_sweep_hours
                if hours and time.monotonic() >= next_look:
                    # a pass that fails (the store unreachable, say) waits PERIODIC_RETRY_SECONDS in this
                    # worker, not the minute of a look: a failing sweep is not retried, and logged, every minute
                    next_look = time.monotonic() + PERIODIC_RETRY_SECONDS
                    self.run_periodic_if_due(timedelta(hours=hours))
                    next_look = time.monotonic() + PERIODIC_LOOK_SECONDS
            except jobs.Stopped:
                break
            except Exception:
                log.exception("the background worker failed; retrying")
            self.state.woken.wait(IDLE_SECONDS)

    def _media_loop(self) -> None:
        """Recordings and scans in a lane of their own: a phone recording's streaming copy or a 300-page
        scan's OCR takes minutes, and the index, notifications and exports must not wait behind it.
        (The jobs are claimed like any other, under this worker's name, renewed by its heartbeat.)"""
        while not self._stop.is_set():
            taken = 0
            try:
                taken = recording.run_one(self.state, self.name)
                taken += ocr.run_one(self.state, self.name)  # a scan or photo → searchable PDF/A
            except jobs.Stopped:
                break
            except Exception:
                log.exception("the recordings and scans lane failed; retrying")
            if not taken:
                self._stop.wait(IDLE_SECONDS * 4)

    def retention_follow_up(self, record_ids: Sequence[str]) -> None:
        """New or changed records: compute their term and lock their blobs in the store."""
        with self.state.sessions() as session:
            schedule.refresh(session, record_ids)
            dossier_filing.refresh_for_records(session, record_ids)  # a dossier's documents keep its term
            schedule.lock_pending(session, self.state.store, record_blobs, len(record_ids), record_ids)

    def run_periodic_if_due(self, every: timedelta) -> bool:
        """The periodic work, when no worker anywhere ran it within `every` and none runs it now."""
        return self._exclusive(PERIODIC, self.periodic, every)

    def _exclusive(self, name: str, work: Callable[[], object], every: timedelta | None = None) -> bool:
        """Run `work` holding the lease `name`; False (and nothing run) when another worker holds it."""
        with self.state.sessions() as session:
            if not leases.take(session, name, self.name, self.lease, every):
                return False
        done = False
        try:
            work()
            done = True
        finally:
            with self.state.sessions() as session:
                leases.release(session, name, self.name, done)
        return True

    def periodic(self) -> None:
        """The daily sweep to review, dossiers whose work ended closed, their terms followed, permanent
        locks rolled forward, and the fixity run when it is due."""
        with self.state.sessions() as session:
            retention.sweep(session)
            dossier_closing.close_ended(session, self.state.store)
            dossier_filing.refresh_terms(session)
            while schedule.lock_pending(session, self.state.store, record_blobs) and not self._stop.is_set():
                pass
            every = self.state.settings.fixity_interval_hours
            finished = FixityRun.state != FixityState.interrupted  # one cut off by a shutdown is not the week's run
            last = session.scalar(select(FixityRun.started_at).where(finished).order_by(FixityRun.id.desc()).limit(1))
            session.commit()
            due = every and (last is None or (calendar.now() - last).total_seconds() > every * 3600)
            if not (due and self._exclusive(FIXITY, self._scheduled_fixity(session))):
                self.anchor_audit_head(session)  # (a fixity run anchors too)

    def _scheduled_fixity(self, session: Session) -> Callable[[], object]:
        return lambda: fixity.run(session, self.state.store, started_by="schedule", stop=self._stop)

    def anchor_audit_head(self, session: Session) -> None:
        """The daily anchor of the audit head in the store (`archive.anchors`), between fixity runs."""
        try:
            anchor = anchors.write(session, self.state.store)
        except Exception:
            log.exception("could not anchor the audit head; the next pass tries again")
            return
        if anchor is not None:
            log.info("audit head anchored: %s", anchor.key)

    def tell_people(self) -> None:
        """Notifications from the audit events since the last pass, then one queued e-mail, if any."""
        with self.state.sessions() as session:
            self._told_up_to = notifications.follow(session, self._told_up_to)
        self._run_claimed(
            notify.EMAIL_JOB,
            "notification e-mail",
            lambda session, claimed: notifications.send_email(
                session, self.state.settings, int(claimed.payload["notification_id"])
            ),
        )

    def run_fixity_job(self) -> bool:
        """Run a queued fixity check, if any; True when one was taken."""

        def check(session: Session, claimed: Job) -> None:
            started_by = str(claimed.payload.get("started_by", "system"))
            fixity.run(session, self.state.store, started_by=started_by, stop=self._stop)

        with self.state.sessions() as session:  # a read first: the lease is written only when there is work
            waiting = session.scalar(select(Job.id).where(*jobs.runnable(fixity.FIXITY_JOB)).limit(1))
            session.commit()
        if waiting is None:
            return False
        taken: list[bool] = []  # one fixity pass at a time in the deployment: a queued one waits its turn
        self._exclusive(FIXITY, lambda: taken.append(self._run_claimed(fixity.FIXITY_JOB, "fixity run", check)))
        return bool(taken and taken[0])

    def run_one_export(self) -> bool:
        """Build the oldest queued evidence package, if any; True when one was taken."""
        return self._run_claimed(
            evidence_package.EXPORT_JOB,
            "evidence package",
            lambda _session, claimed: evidence_package.run(self.state, str(claimed.payload["export_id"])),
        )

    def run_one_sip(self) -> bool:
        """Build the oldest queued SIP of a handed-over dossier, if any; True when one was taken."""
        return self._run_claimed(
            handover.SIP_JOB,
            "handover SIP",
            lambda _session, claimed: handover_sips.run(
                self.state, int(claimed.payload["handover_id"]), str(claimed.payload["dossier_id"])
            ),
        )

    def _run_claimed(self, kind: str, what: str, work: Callable[[Session, Job], None]) -> bool:
        """Claim one job of `kind` and run it: stopped by the shutdown it is queued again, failed it keeps
        the error, else it is finished. True when a job was taken."""
        with self.state.sessions() as session:
            claimed = jobs.claim(session, self.name, [kind])
            if claimed is None:
                return False
            try:
                work(session, claimed)
            except jobs.Stopped:
                log.info("%s stopped by the shutdown; its job is queued again", what)
                jobs.release(session, session.merge(claimed))
            except Exception as e:
                jobs.fail(session, session.merge(claimed), repr(e))
            else:
                jobs.finish(session, session.merge(claimed))
        return True
