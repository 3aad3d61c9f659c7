"""The principal's key for `hoso sign-month`, authorized once for the whole batch, and a certificate's first use.

A .p12's password, a token's PIN or a remote credential's PIN comes from its HOSO_* variable or is
asked without echo; a remote OTP is always asked. A certificate nobody has registered yet is shown and
confirmed here ("Đây là chứng thư số của tôi?") before anything is signed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import SecretStr

from api.cli.common import console, err, fail
from flows.settings import Settings

if TYPE_CHECKING:
    from signing.csc import Vet
    from signing.keys import KeySource


@dataclass(frozen=True)
class KeyChoice:
    """Where the key is: exactly one of a .p12 file, a PKCS#11 token, or a remote-signing credential."""

    pkcs12: Path | None
    pkcs11_module: str | None
    token_label: str | None
    key_label: str | None
    csc_credential: str | None
    csc_url: str | None
    otp: bool

    def sources(self) -> int:
        return sum(x is not None for x in (self.pkcs12, self.pkcs11_module, self.csc_credential))


def reveal(secret: SecretStr | None) -> str | None:
    """A secret setting's value, taken out only where it is used (None if unset)."""
    return None if secret is None else secret.get_secret_value()


def open_key(
    settings: Settings, pkcs12: Path | None, module: str | None, token_label: str | None, key_label: str | None
) -> KeySource:
    """The principal's key, authorized once: the .p12 password or the token PIN."""
    from signing import keys, token

    if pkcs12 is not None:
        password = reveal(settings.pkcs12_password)
        if password is None:
            password = typer.prompt("Mật khẩu tệp chữ ký số / PKCS#12 password", hide_input=True)
        return keys.from_pkcs12(pkcs12.read_bytes(), password.encode())
    return token.from_token(token.TokenSpec(module or "", token_label, key_label), token_pin(settings))


def token_pin(settings: Settings) -> str:
    """The USB token's PIN: HOSO_PKCS11_PIN, else asked without echo."""
    pin = reveal(settings.pkcs11_pin)
    if pin is None:
        pin = typer.prompt("Mã PIN của USB token / token PIN", hide_input=True)
    return pin


def open_remote(
    settings: Settings, url: str | None, credential: str, otp: bool, signatures: int, vet: Vet | None = None
) -> KeySource:
    """A remote-signing credential, authorized once for the batch: its PIN (or an OTP)."""
    from signing import csc

    url = url or settings.csc_url
    if not url:
        fail("Chưa có dịch vụ ký số từ xa (--csc-url hoặc HOSO_CSC_URL).", "No remote-signing service (--csc-url).")
    spec = csc.CSCSpec(url, credential, reveal(settings.csc_token))
    if otp:
        code = typer.prompt("Mã OTP ký số từ xa / remote-signing OTP", hide_input=True)
        return csc.open_remote(spec, None, code, signatures, settings.signing_concurrency, vet)
    pin = reveal(settings.csc_pin)
    if pin is None:
        pin = typer.prompt("Mã PIN ký số từ xa / remote-signing PIN", hide_input=True)
    return csc.open_remote(spec, pin, None, signatures, settings.signing_concurrency, vet)


def confirm_first_use(detail: object, vi: str, en: str) -> str:
    """A certificate's first use: show it, and ask "Đây là chứng thư số của tôi?" (a TTY), else refuse with the way on.

    Returns the fingerprint confirmed."""
    found = detail.get("certificate") if isinstance(detail, dict) else None
    c: dict[str, Any] = found if isinstance(found, dict) else {}
    err.print(f"[bold yellow]{vi}[/]\n{en}")
    for label, value in (
        ("Chủ thể / subject", c.get("subject")),
        ("Nơi cấp / issuer", c.get("issuer")),
        ("Số sê-ri / serial", c.get("serial")),
        ("Hiệu lực / valid", f"{c.get('not_before', '?')[:10]} – {c.get('not_after', '?')[:10]}"),
        ("CMND/CCCD", c.get("national_id")),
        ("SHA-256", c.get("fingerprint")),
    ):
        if value:
            err.print(f"  {label}: {value}")
    fingerprint = str(c.get("fingerprint") or "")
    if not fingerprint:
        fail(vi, en)
    if not sys.stdin.isatty():
        fail(
            "Chưa xác nhận chứng thư số; nếu đây là chứng thư của bạn, chạy lại với "
            f"--confirm-certificate {fingerprint}",
            f"The certificate is not confirmed; run again with --confirm-certificate {fingerprint} if it is yours.",
        )
    if not typer.confirm("Đây là chứng thư số của tôi / this is my certificate?", default=False, err=True):
        fail("Không ký: bạn chưa xác nhận chứng thư số.", "Not signed: the certificate was not confirmed.")
    return fingerprint


def say_report(
    batch_id: object,
    state: object,
    signed: object,
    failed: list[dict[str, Any]],
    approval_record_id: object,
    placed: list[dict[str, Any]],
) -> None:
    """A signing run's outcome, the same words whether the server or this PC signed."""
    console.print(
        f"Đợt / batch {batch_id}: {state}; đã ký / signed: [bold]{signed}[/]; lỗi / failed: [bold]{len(failed)}[/]"
    )
    if approval_record_id:
        console.print(f"Biên bản duyệt / approval record: {approval_record_id}")
    say_where_placed(placed)
    for failure in failed:
        err.print(f"[red]✗[/] {failure['record_id']}: {failure['error']}")


def say_where_placed(placed: list[dict[str, Any]]) -> None:
    """The items whose signature is not on the usual page (first page, an added page, invisible), by name."""
    from signing import placement
    from signing.models import StampPlace

    for item in placed:
        vi, en = placement.SAID[StampPlace(item["stamp_place"])]
        console.print(f"[yellow]![/] {item['record_id']} {item['title']}: {vi} / {en}")
