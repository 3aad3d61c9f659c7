"""`hoso people import`: a school's staff list from CSV or XLSX, as the administrator's page does it.

`--dry-run` prints the preview (each row's account, or why it is refused) and writes nothing. The
import is all or nothing: any refused row stops it, unless `--skip-refused` leaves those rows out.
The one-time passwords are printed once, and written to `--passwords FILE` (CSV) when asked.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.common import console, fail, open_session
from archive import staff
from archive.exceptions import HosoError
from archive.staff.check import ROLE_NAMES
from archive.staff.commit import ImportRefused
from archive.staff.schemas import StaffPreview
from archive.staff.template import passwords_csv
from flows.settings import Settings


def import_staff(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Tệp .xlsx hoặc .csv / the staff list"),
    school: str = typer.Option(..., "--school", help="Mã trường / the school's code"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Chỉ xem trước / preview only, write nothing"),
    skip_refused: bool = typer.Option(False, "--skip-refused", help="Bỏ qua dòng bị từ chối / leave refused rows out"),
    passwords: Path | None = typer.Option(None, "--passwords", help="Ghi mật khẩu một lần ra CSV / write them to CSV"),
) -> None:
    """Import a school's staff: one account per row, each with a one-time password."""
    with file.open("rb") as f:
        data = f.read(staff.MAX_BYTES + 1)
    with open_session(Settings()) as session:
        try:
            preview, lines = staff.read_file(session, school, data, file.name)
            _print_preview(preview)
            if dry_run:
                console.print("Xem trước, chưa ghi gì / preview only, nothing written.")
                raise typer.Exit(1 if preview.refused else 0)
            chosen = {r.row for r in preview.rows if r.ok} if skip_refused else None
            done = staff.import_lines(session, None, school, lines, chosen)
        except ImportRefused as e:
            fail(e.vi + " (--skip-refused: nhập những dòng còn lại)", e.en + " (--skip-refused imports the others)")
        except HosoError as e:
            fail(e.vi, e.en)
    table = Table("Họ và tên / name", "Tên đăng nhập / username", "Mật khẩu một lần / one-time password")
    for a in done.created:
        table.add_row(escape(a.full_name), escape(a.username), a.password)
    console.print(table)
    if passwords:
        passwords.write_bytes(passwords_csv([(a.full_name, a.username, a.password) for a in done.created]))
        console.print(f"Đã ghi mật khẩu / passwords written: {passwords}")
    console.print(f"Đã tạo / created {len(done.created)} tài khoản tại / accounts at {done.school_code}.")


def _print_preview(preview: StaffPreview) -> None:
    table = Table("Dòng / row", "Họ và tên", "Tên đăng nhập", "Vai trò", "Kết quả / result")
    for r in preview.rows:
        roles = ", ".join(ROLE_NAMES[role] for role in r.roles)
        said = "sẽ tạo / will create" if r.ok else "\n".join(f"{p.vi}\n  {p.en}" for p in r.problems)
        table.add_row(str(r.row), escape(r.full_name), escape(r.username), roles, escape(said))
    console.print(table)
    console.print(f"{len(preview.rows) - preview.refused} sẽ tạo / to create, {preview.refused} bị từ chối / refused")
