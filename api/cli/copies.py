"""`hoso copies …`: copies for use from a shell (TT 05/2025) — ask for a read copy, a BẢN SAO copy or
an authenticated copy, list them, issue an authenticated copy with the school's seal (the .p12's
password is asked without echo), refuse one, download a copy.

Each command acts as a named person (`--as`) under the same rules as the pages and the API; a
refusal prints its Vietnamese and English message and exits 1. A read copy has no command to
fetch it: it is read in the browser only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from api.cli.common import active_person, console, err, fail, open_session
from archive.storage import make_store
from flows import copies as copy_flow
from flows.settings import Settings
from retention.copies import service
from retention.copies.models import CopyRequest
from signing import seal_ownership

AS = typer.Option(..., "--as", help="Người thực hiện / acting user (username)")
KINDS = {"read": "bản đọc", "copy": "bản sao", "authenticated": "bản sao có xác thực"}
STATES = {"requested": "chờ cấp", "issued": "đã cấp", "refused": "bị từ chối", "voided": "đã hủy cùng tài liệu"}


def _line(copy: CopyRequest) -> str:
    extra = f" đến hết {copy.read_until:%d/%m/%Y}" if copy.read_until else ""
    number = f" số {copy.number}" if copy.number else ""
    return f"{copy.id}  {KINDS[copy.kind]}{number} — {STATES[copy.state]}{extra} — {copy.record.title}"


def request(
    record_id: str = typer.Argument(..., help="Mã tài liệu / record id"),
    kind: str = typer.Option(..., "--kind", help="read | copy | authenticated"),
    purpose: str = typer.Option(..., "--purpose", help="Mục đích sử dụng / purpose of use"),
    until: str | None = typer.Option(None, "--until", help="Bản đọc: ngày hết hạn / a read copy's end date"),
    username: str = AS,
) -> None:
    """Yêu cầu bản sao / ask for a copy of a record."""
    settings = Settings()
    with open_session(settings) as session:
        person = active_person(session, username)
        end = date.fromisoformat(until) if until else None
        made = copy_flow.request(session, make_store(settings), settings, person, record_id, kind, purpose, end)
        console.print(_line(made))


def listed(username: str = AS) -> None:
    """Các bản sao đã yêu cầu và chờ cấp / my copies and those waiting for me."""
    with open_session(Settings()) as session:
        mine, theirs = service.visible(session, active_person(session, username))
        for copy in {c.id: c for c in mine + theirs}.values():
            console.print(_line(copy))


def issue(
    copy_id: str = typer.Argument(..., help="Mã yêu cầu / request id"),
    pkcs12: Path = typer.Option(..., "--pkcs12", exists=True, dir_okay=False, help="Con dấu của trường (.p12)"),
    seal_image: Path | None = typer.Option(None, "--seal-image", exists=True, dir_okay=False, help="Ảnh con dấu"),
    confirm_seal: str | None = typer.Option(
        None,
        "--confirm-seal",
        help="Lần đầu dùng con dấu: dấu vân tay SHA-256 đã kiểm tra / the seal's fingerprint, confirmed on first use",
    ),
    username: str = AS,
) -> None:
    """Cấp bản sao có xác thực bằng con dấu của trường / issue an authenticated copy with the school's seal.

    The school's first seal is shown and must be confirmed: run again with --confirm-seal FINGERPRINT."""
    password = typer.prompt("Mật khẩu tệp .p12 / .p12 password", hide_input=True)
    settings = Settings()
    with open_session(settings) as session, pkcs12.open("rb") as key:
        image = seal_image.open("rb") if seal_image else None
        try:
            secrets = copy_flow.SealSecrets("pkcs12", key, password, None, image, confirm_seal)
            made = copy_flow.issue_with(
                session, make_store(settings), settings, active_person(session, username), copy_id, secrets
            )
        except seal_ownership.SealUnconfirmed as e:
            _unconfirmed(e)
        finally:
            if image is not None:
                image.close()
        console.print(_line(made))


def _unconfirmed(e: seal_ownership.SealUnconfirmed) -> None:
    """The school's first seal: what to check, and the way on (no prompt: the fingerprint is typed back)."""
    found = e.context.get("certificate")
    c: dict[str, object] = found if isinstance(found, dict) else {}
    err.print(f"[bold yellow]{e.vi}[/]\n{e.en}")
    for label, key in (("Chủ thể / subject", "subject"), ("Nơi cấp / issuer", "issuer"), ("Sê-ri / serial", "serial")):
        err.print(f"  {label}: {c.get(key)}")
    err.print(f"  Hiệu lực / valid: {str(c.get('not_before'))[:10]} – {str(c.get('not_after'))[:10]}")
    err.print(f"  SHA-256: {c.get('fingerprint')}")
    fail(
        f"Nếu đây là chứng thư số con dấu của trường, chạy lại với --confirm-seal {c.get('fingerprint')}",
        f"If this is the school's seal certificate, run again with --confirm-seal {c.get('fingerprint')}",
    )


def refuse(
    copy_id: str = typer.Argument(..., help="Mã yêu cầu / request id"),
    reason: str = typer.Option(..., "--reason", help="Lý do từ chối / the reason"),
    username: str = AS,
) -> None:
    """Từ chối cấp bản sao có xác thực / refuse an authenticated copy."""
    with open_session(Settings()) as session:
        console.print(_line(service.refuse(session, active_person(session, username), copy_id, reason)))


def download(
    copy_id: str = typer.Argument(..., help="Mã yêu cầu / request id"),
    out: Path = typer.Option(..., "--out", help="Ghi ra tệp / write to this file"),
    username: str = AS,
) -> None:
    """Tải bản sao về (bản đọc chỉ xem trên trình duyệt) / download a copy (a read copy is browser-only)."""
    settings = Settings()
    with open_session(settings) as session:
        copy, chunks = copy_flow.download(session, make_store(settings), active_person(session, username), copy_id)
        partial = out.with_name(out.name + ".part")
        with partial.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
        partial.replace(out)  # atomic: a broken download never leaves a file named like the copy
        console.print(f"{out}  {copy.number}  SHA-256 {copy.sha256}")
