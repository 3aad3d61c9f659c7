"""The kernel's configuration, read from HOSO_* environment variables; each domain's class extends it.

`ArchiveSettings` holds what the kernel needs (data folder, database, store, upload limit, tokens, jobs).
Each domain adds its own fields in a subclass beside its code (`signing/settings.py`,
`retention/settings.py`, `search/settings.py`), and `flows/settings.py` composes them into the one
`Settings` the app, the CLI and the tests create: the kernel may not import the domains, so the
composition lives above them. A domain type-hints its own class and sees only its fields and these.

It is created once by the entry point (CLI, app factory, test fixture) and passed in; nothing reads
the environment at import time, so tests can run several differently configured archives at once.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path

from authlib.common.security import is_secure_transport
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class SsoLink(StrEnum):
    """The field of a hoso person that the provider's claim is compared with (archive/sso.py)."""

    username = "username"
    email = "email"
    national_id = "national_id"  # the ministry's staff ID (mã định danh), kept as the person's national ID


class ArchiveSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOSO_", extra="ignore")

    data_dir: Path = Field(default=Path("hoso-data"), description="Local data folder (SQLite, blobs, temp)")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir if unset")
    s3_endpoint: str | None = Field(default=None, description="host:port of an S3 server; folder store if unset")
    s3_bucket: str = "hoso"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_secure: bool = True
    s3_region: str | None = None
    s3_part_size: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)
    max_upload_bytes: int = Field(default=3 * GIB, gt=0, description="Largest accepted upload")
    secret_key: str | None = Field(default=None, description="Token signing key; generated in data_dir if unset")
    token_ttl_minutes: int = Field(default=8 * 60, gt=0)
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-* headers are believed",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="The address people open hoso at (links in e-mails)"
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for notification e-mails; none if unset")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "hoso <hoso@localhost>"
    job_lease_seconds: int = Field(
        default=60, ge=1, le=3600, description="A job whose worker is silent this long goes back to the queue"
    )
    # Single sign-on with the Sở's OpenID provider (archive/sso.py); unset, only local passwords work.
    oidc_issuer: str | None = Field(default=None, description="The provider's issuer URL (https)")
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_link: SsoLink = Field(default=SsoLink.username, description="The hoso field an account is linked by")
    oidc_claim: str = Field(default="preferred_username", description="The claim compared with that field")
    oidc_scopes: str = "openid profile email"
    oidc_allow_admins: bool = Field(
        default=False, description="Let administrators sign in through the provider too (off: hoso password only)"
    )
    oidc_redirect_uri: str | None = Field(
        default=None, description="The callback registered at the provider; from the request's address if unset"
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> ArchiveSettings:
        if self.oidc_issuer:
            if not self.oidc_client_id:
                raise ValueError("HOSO_OIDC_CLIENT_ID is required with HOSO_OIDC_ISSUER")
            if not is_secure_transport(self.oidc_issuer):  # plain http only to this machine (tests, a tunnel)
                raise ValueError("HOSO_OIDC_ISSUER must be an https:// address")
            if "openid" not in self.oidc_scopes.split():
                raise ValueError("HOSO_OIDC_SCOPES must include openid")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hoso.db').resolve()}"

    @property
    def tmp_dir(self) -> Path:
        """Where uploads are spooled; on the data disk so a 2 GB video never touches memory or /tmp."""
        path = self.data_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def resolved_secret_key(self) -> str:
        """The configured key, else one generated once and kept (mode 0600) in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip()
