"""Login throttling: per account and per client address, with exponential back-off and no lockout.

Before this, 60 wrong passwords in 9.4 s were answered at full speed (issue #13). Now each key (the
typed username, hashed, and the client's address) counts its recent failures in one small row of
`login_throttle`, so every server process and machine sees the same count. The first `free`
failures cost nothing; after that each next attempt must wait 1, 2, 4 … seconds, at most
`MAX_WAIT`. An attempt made while a key must wait is refused with 429 and Retry-After *without*
checking the password and without counting, so waiting always works: there is no lockout an
attacker could hold against a principal, only a wait of at most `MAX_WAIT` after the last guess.

An attempt is counted *before* the password is checked (and uncounted when it succeeds), so a burst
of parallel guesses cannot all slip through before the first failure is written. A successful login
clears the account's count; a key quiet for `FORGET` starts again from zero, and such rows are
pruned at each successful login, which keeps the table to the keys that failed in the last hour.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.exceptions import TooManyAttempts
from archive.login_models import LoginThrottle

ACCOUNT_FREE = 5  # wrong passwords in a row for one account before the first wait
ADDRESS_FREE = 30  # for one client address: a school's teachers may share one public address
MAX_WAIT = timedelta(minutes=5)
FORGET = timedelta(hours=1)  # longer than MAX_WAIT, so waiting out a wait never resets the count


@dataclass(frozen=True)
class Gate:
    key: str
    free: int


def gates(username: str, address: str | None) -> list[Gate]:
    """The account's gate (its typed name, case-folded and hashed) and the client address's gate."""
    typed = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:40]
    found = [Gate(f"account:{typed}", ACCOUNT_FREE)]
    if address:
        found.append(Gate(f"address:{address[:80]}", ADDRESS_FREE))
    return found


def wait_after(failures: int, free: int) -> timedelta:
    """How long the next attempt waits after `failures` in a row: 0 while free, then 1, 2, 4 … s."""
    if failures < free:
        return timedelta(0)
    excess = min(failures - free, 20)  # 2**20 s is far past MAX_WAIT; no huge powers
    return min(MAX_WAIT, timedelta(seconds=2**excess))


def attempt(session: Session, keys: list[Gate], now: datetime | None = None) -> None:
    """Admit one login attempt, counted in advance as a failure; TooManyAttempts while a key waits."""
    now = now or utcnow()
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_([g.key for g in keys]))).all()
    waits = [
        row.blocked_until - now
        for row in rows
        if row.blocked_until is not None and row.blocked_until > now and row.last_at > now - FORGET
    ]
    session.commit()  # end the read: SQLite refuses to upgrade a stale read snapshot to a write
    if waits:
        raise too_many(max(waits))
    for gate in keys:
        _count(session, gate, now)
    session.commit()


def succeeded(session: Session, keys: list[Gate], now: datetime | None = None) -> None:
    """The password was right: the account starts afresh; the address gets back the attempt it spent."""
    now = now or utcnow()
    account, *others = keys
    session.commit()  # as in attempt(): the write begins with a write
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account.key))
    for gate in others:
        left = case((LoginThrottle.failures > 0, LoginThrottle.failures - 1), else_=0)
        session.execute(update(LoginThrottle).where(LoginThrottle.key == gate.key).values(failures=left))
        row = session.get(LoginThrottle, gate.key, populate_existing=True)
        if row is not None and row.failures < gate.free:
            row.blocked_until = None
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_at < now - FORGET))
    session.commit()


def too_many(wait: timedelta) -> TooManyAttempts:
    seconds = max(1, math.ceil(wait.total_seconds()))
    return TooManyAttempts(
        f"Đăng nhập sai quá nhiều lần; hãy thử lại sau {_vi_duration(seconds)}.",
        f"Too many failed logins; try again in {seconds} s.",
        retry_after=seconds,
    )


def _vi_duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{seconds} giây"
    return f"{minutes} phút" + (f" {rest} giây" if rest else "")


def _count(session: Session, gate: Gate, now: datetime) -> None:
    """failures += 1 in one statement (or 1 after a quiet hour), then the wait that follows from it."""
    fresh = LoginThrottle.last_at > now - FORGET
    failures = case((fresh, LoginThrottle.failures + 1), else_=1)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(LoginThrottle).values(key=gate.key, failures=1, last_at=now)
    session.execute(
        upsert.on_conflict_do_update(index_elements=[LoginThrottle.key], set_={"failures": failures, "last_at": now})
    )
    count = session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == gate.key)) or 1
    wait = wait_after(count, gate.free)
    if wait:
        session.execute(update(LoginThrottle).where(LoginThrottle.key == gate.key).values(blocked_until=now + wait))
