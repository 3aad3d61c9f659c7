"""The signing domain's configuration (HOSO_* variables): trust, timestamps, stamps, keys, the seal.

The trust store is configuration, not code: in production the national root (NEAC, rootca.gov.vn)
and the providers' CAs; in tests the certomancer root. The secrets `hoso sign-month` may take from the
environment are secret strings, so a repr or a log of the settings never shows them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from archive.settings import ArchiveSettings


class SigningSettings(ArchiveSettings):
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
    # A remote-signing service (ký số từ xa) speaking the CSC API v1: configuration, never from a request.
    csc_url: str | None = Field(default=None, description="Base URL of the CSC service (before /csc/v1/...)")
    # The secrets `hoso sign-month` may take from the environment instead of asking without echo.
    password: SecretStr | None = Field(default=None, description="hoso login password for `sign-month --server`")
    pkcs12_password: SecretStr | None = Field(default=None, description="Password of the .p12 of `sign-month`")
    pkcs11_pin: SecretStr | None = Field(default=None, description="PIN of the USB token of `sign-month`")
    csc_token: SecretStr | None = Field(default=None, description="OAuth token of the remote-signing service")
    csc_pin: SecretStr | None = Field(default=None, description="PIN of the remote-signing credential")
