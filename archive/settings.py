"""The one configuration object of hoso, read from HOSO_* environment variables.

It is created once by the entry point (CLI, app factory, test fixture) and passed in; nothing reads
the environment at import time, so tests can run several differently configured archives at once.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class Settings(BaseSettings):
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
    # Signing (signing/). The trust store is configuration, not code: in production the national
    # root (NEAC, rootca.gov.vn) and the providers' CAs; in tests the certomancer root.
    trust_roots: str = Field(default="", description="Comma-separated PEM/DER files or folders of trusted roots")
    trust_demo_root: bool = Field(
        default=False, description="Also trust the test root of `hoso demo-cert` (for trying hoso; never in production)"
    )
    tsa_url: str | None = Field(default=None, description="RFC 3161 time-stamping service for B-T and above")
    signature_level: str | None = Field(default=None, description="B-B, B-T, B-LT or B-LTA; B-LT if a TSA is set")
    revocation_mode: str = Field(default="hard-fail", pattern="^(soft-fail|hard-fail|require)$")
    stamp_page: str = Field(default="last", pattern="^(first|last)$", description="Page for the visible stamp")
    stamp_fallback: str = Field(
        default="added-page",
        pattern="^(added-page|first-page)$",
        description="No blank room on that page: add a signature page, or try the first page first",
    )
    signing_lease_seconds: int = Field(
        default=120, ge=1, description="A signing run silent this long may be taken over"
    )
    job_lease_seconds: int = Field(
        default=60, ge=1, le=3600, description="A job whose worker is silent this long goes back to the queue"
    )
    signing_prepared_seconds: int = Field(
        default=900, ge=10, description="How long a document prepared for the principal's PC waits for its signature"
    )
    signing_concurrency: int = Field(default=4, ge=1, le=64, description="Documents in flight (overlaps TSA trips)")
    stamp_font: Path | None = Field(default=None, description="TTF for the stamp; Liberation Serif if unset")
    sign_agent_url: str = Field(
        default="http://127.0.0.1:8765", description="Where the approval page looks for `hoso sign-agent` on the PC"
    )
    # A token or HSM attached to the server (the school's seal when hoso runs on the school's machine).
    pkcs11_module: str | None = Field(default=None, description="PKCS#11 module (.so) of a token attached here")
    pkcs11_token_label: str | None = Field(default=None, description="Which token, when several are present")
    pkcs11_key_label: str | None = Field(default=None, description="Which key, when the token holds several")
    # The archive's own seal over what it hands out (evidence and transfer packages).
    seal_pkcs12: Path | None = Field(default=None, description="Organisation certificate (.p12) sealing packages")
    seal_password: str | None = Field(default=None, description="Password of HOSO_SEAL_PKCS12")
    evidence_max_bytes: int = Field(default=20 * GIB, gt=0, description="Largest evidence package")
    evidence_max_records: int = Field(default=5000, gt=0, description="Most records in one evidence package")
    # Retention (retention/): the sweep to review and the fixity audit, run by `hoso serve`'s worker.
    retention_sweep_hours: float = Field(default=24, ge=0, description="Sweep to review every N hours (0: off)")
    fixity_interval_hours: float = Field(default=168, ge=0, description="Full fixity run every N hours (0: off)")
    # Full-text search (search/): the index is derived data under data_dir/index/<engine>/.
    search_engine: str = Field(default="tantivy", pattern="^(tantivy|whoosh)$", description="tantivy or whoosh")
    index_worker: bool = Field(default=True, description="Index changes in the background of `hoso serve`")
    # A remote-signing service (ký số từ xa) speaking the CSC API v1: configuration, never from a request.
    csc_url: str | None = Field(default=None, description="Base URL of the CSC service (before /csc/v1/...)")
    # The secrets `hoso sign-month` may take from the environment instead of asking without echo. Secret
    # strings: a repr or a log of the settings shows "**********", never the value.
    password: SecretStr | None = Field(default=None, description="hoso login password for `sign-month --server`")
    pkcs12_password: SecretStr | None = Field(default=None, description="Password of the .p12 of `sign-month`")
    pkcs11_pin: SecretStr | None = Field(default=None, description="PIN of the USB token of `sign-month`")
    csc_token: SecretStr | None = Field(default=None, description="OAuth token of the remote-signing service")
    csc_pin: SecretStr | None = Field(default=None, description="PIN of the remote-signing credential")

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

    @property
    def default_signature_level(self) -> str:
        return self.signature_level or ("B-LT" if self.tsa_url else "B-B")

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
