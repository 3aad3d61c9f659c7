"""The tables of signing in: the login throttle, tokens ended by logging out, and single sign-ons in
flight — the state every server process must share so that any of them can answer the next step.
A module apart from archive/models.py for that file's length; archive.models imports it, so the
tables register with the others."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive.db import Base, UTCDateTime, utcnow


class LoginThrottle(Base):
    """Recent login failures of one account or one client address (archive/throttle.py).

    One small row per key, shared by every server process; a row quiet for `throttle.FORGET` is
    pruned. The account key is a hash of the typed username: people type passwords there too.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Base):
    """A token ended by logging out, kept until it would have expired anyway (then pruned)."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SsoLogin(Base):
    """A sign-in sent to the Sở's OpenID provider and not yet back (archive/sso.py).

    Its `state` went to the provider; the nonce and PKCE verifier stay here, so whichever server
    process the provider sends the person back to can finish it, and finishing deletes it (a state
    is good once). The browser that began it holds a value whose hash is `browser_hash`.
    """

    __tablename__ = "sso_logins"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
