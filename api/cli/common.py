"""What every `hoso` command shares: the typer apps, the two consoles, the bilingual failure, a session.

The command groups live in their own modules (`api/cli/*.py`) and are registered in `api/cli/__init__.py`
in one list, so `hoso --help` shows them in the order people learned them.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import migrations as migrate
from archive.db import make_engine, make_sessionmaker
from archive.exceptions import HosoError
from archive.models import Person
from flows.settings import Settings

app = typer.Typer(help="hoso — Hồ sơ số: lưu trữ hồ sơ điện tử trường học.", no_args_is_help=True)
admin_app = typer.Typer(help="Quản trị người dùng / user administration.", no_args_is_help=True)
school_app = typer.Typer(help="Trường học / schools.", no_args_is_help=True)
people_app = typer.Typer(help="Nhân sự của trường / a school's staff.", no_args_is_help=True)
audit_app = typer.Typer(help="Nhật ký kiểm toán / audit log.", no_args_is_help=True)
db_app = typer.Typer(help="Cơ sở dữ liệu / database.", no_args_is_help=True)
retention_app = typer.Typer(help="Thời hạn bảo quản / retention.", no_args_is_help=True)
dossiers_app = typer.Typer(help="Hồ sơ: danh mục, đóng, giao nộp / dossiers of the year.", no_args_is_help=True)
copies_app = typer.Typer(help="Bản sao: bản đọc, bản sao, bản sao có xác thực / copies for use.", no_args_is_help=True)

# soft_wrap: never break a password or a URL across lines. emoji=False: rich would print ":CD:" in a
# fingerprint ("…:08:CD:26:…") as 💿, so an inspector's or a principal's fingerprint came out wrong.
console = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)


def fail(vi: str, en: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]Lỗi:[/] {escape(vi)}\n[red]Error:[/] {escape(en)}")  # text, never markup
    raise typer.Exit(code)


def open_session(settings: Settings) -> Session:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if not migrate.is_current(engine):
        fail(
            "Cơ sở dữ liệu chưa được cập nhật; hãy chạy `hoso db upgrade`.",
            "The database schema is not current; run `hoso db upgrade`.",
        )
    return make_sessionmaker(engine)()


def engine_of(session: Session) -> Engine:
    """The engine a session from `open_session` is bound to (for work that opens its own connections)."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def sessions_like(session: Session) -> sessionmaker[Session]:
    """A session factory on the same engine as `session` (for work that opens its own sessions)."""
    return make_sessionmaker(engine_of(session))


def active_person(session: Session, username: str) -> Person:
    """The active person logging in as `username`, or the command fails saying so."""
    person = session.scalar(select(Person).where(Person.username == username, Person.active))
    if person is None:
        fail(f"Không có người dùng {username!r}.", f"No active user {username!r}.")
    return person


def main() -> None:
    try:
        app()
    except HosoError as exc:
        err.print(f"[bold red]Lỗi:[/] {exc.vi}\n[red]Error:[/] {exc.en}")
        sys.exit(1)
    except ValueError as exc:  # pydantic validation of CLI input
        err.print(f"[bold red]Lỗi / Error:[/] {exc}")
        sys.exit(1)
