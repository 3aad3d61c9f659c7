"""`hoso import`: a folder of files described by a metadata sheet, through the same ingest as an upload."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from api.cli.common import active_person, console, err, open_session
from archive import importer
from archive.storage import make_store
from flows.settings import Settings


def import_folder(
    folder: Path = typer.Argument(..., exists=True, file_okay=False),
    as_user: str = typer.Option(..., "--as", help="Tên đăng nhập của người nhập (tác giả mặc định)"),
    metadata: Path | None = typer.Option(None, help="metadata.csv / metadata.yaml (mặc định: trong thư mục)"),
) -> None:
    """Import a folder of files described by metadata.csv or metadata.yaml."""
    settings = Settings()
    with open_session(settings) as session:
        person = active_person(session, as_user)
        total = len(importer.read_rows(metadata or importer.find_metadata(folder)))
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
        ) as bar:
            task = bar.add_task("Nhập / importing", total=total)
            report = importer.run_import(
                session,
                make_store(settings),
                folder,
                person,
                settings.tmp_dir,
                settings.max_upload_bytes,
                metadata,
                progress=lambda _f: bar.advance(task),
            )
    console.print(
        f"Đã nhập / imported: [bold]{len(report.imported)}[/]   bị từ chối / refused: [bold]{len(report.refused)}[/]"
    )
    if report.refused:
        table = Table("Tệp / file", "Lý do / reason")
        for r in report.refused:
            table.add_row(r.file, f"{r.reason_vi}\n[dim]{r.reason_en}[/]")
        console.print(table)
        raise typer.Exit(1)
