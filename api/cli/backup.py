"""`hoso backup` and `hoso restore`: a consistent copy of database and store (TT 05/2025: ≥ 2 copies).

A restore is checked by a fixity run before it says "intact", and the new store's retention locks
are laid again from the restored terms.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from api.cli.common import console, engine_of, err, open_session
from archive.storage import make_store
from flows.settings import Settings


def backup_command(
    dest: Path = typer.Argument(..., help="Thư mục sao lưu (trống) / an empty backup folder"),
    base: Path | None = typer.Option(
        None,
        "--base",
        exists=True,
        file_okay=False,
        help="Sao lưu gia tăng trên bản này / incremental on this earlier backup (only new blobs are copied)",
    ),
) -> None:
    """Write a consistent copy of the database and every stored object to DEST (TT 05/2025: ≥ 2 copies,
    daily incremental with --base, monthly full)."""
    import search.models  # noqa: F401  (every table is part of the copy)
    import signing.models  # noqa: F401
    from retention import backup

    settings = Settings()
    with open_session(settings) as session:
        engine = engine_of(session)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err) as bar:
        task = bar.add_task("Sao lưu / backup", total=None)
        info = backup.backup(
            engine,
            make_store(settings),
            dest,
            lambda phase, done, total: bar.update(
                task, description=f"Sao lưu / backup: {phase}", completed=done, total=total
            ),
            base=base,
        )
    console.print(
        f"Đã sao lưu / backed up: {sum(info['rows'].values())} dòng / rows, {info['objects']} đối tượng / objects "
        f"({info['objects_in_base']} đã có trong bản gốc / already in the base) "
        f"→ {dest} (kiểm tra / check: sha256sum -c manifest-sha256.txt)"
    )


def restore_command(
    src: Path = typer.Argument(..., exists=True, file_okay=False, help="Thư mục sao lưu / backup"),
) -> None:
    """Restore a backup into an empty database (run `hoso db upgrade` first) and store; verifies every hash."""
    from sqlalchemy import update

    import search.models  # noqa: F401
    import signing.models  # noqa: F401
    from flows.blobs import record_blobs
    from retention import backup, fixity, schedule
    from retention.models import FixityState, RecordRetention

    settings = Settings()
    store = make_store(settings)
    with open_session(settings) as session:
        result = backup.restore(session, store, src)
        session.execute(update(RecordRetention).values(locked_until=None))  # the new store has no locks yet
        session.commit()
        while schedule.lock_pending(session, store, record_blobs):
            pass
        run = fixity.run(session, store, "restore")
    console.print(
        f"Đã khôi phục / restored: {sum(result['rows'].values())} dòng / rows, {result['objects']} objects; "
        f"kiểm tra băm / hashes checked: {run.blobs_checked} blob, {run.audit_events_checked} sự kiện nhật ký"
    )
    if run.state != FixityState.ok:
        found = [*run.missing, *[m["sha256"] for m in run.mismatched], *[t["key"] for t in run.tampered]]
        for problem in [*found, *run.audit_problems]:
            err.print(f"[red]✗[/] {problem}")
        raise typer.Exit(1)
    console.print("[bold green]Toàn vẹn / intact[/]")
