"""`hoso db upgrade`, `hoso rebuild-db`, `hoso reindex`: the schema, and the two things rebuilt from others.

The bucket's sidecars can rebuild the database, and the database the search index; both commands
show their progress on stderr, so stdout keeps only the result.
"""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

import migrations as migrate
from api.cli.common import console, err, open_session, sessions_like
from archive import rebuild, seed
from archive.storage import make_store
from flows.settings import Settings
from search.engine import open_engine


def db_upgrade() -> None:
    """Apply migrations and load the record-type schedule."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    with open_session(settings) as session:
        added = seed.seed_record_types(session)
    console.print(f"Cơ sở dữ liệu đã cập nhật / database up to date; record types added: {len(added)}")


def rebuild_db() -> None:
    """Rebuild records and versions into an empty database from the bucket's sidecars."""
    settings = Settings()
    with open_session(settings) as session:
        seed.seed_record_types(session)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err) as bar:
            task = bar.add_task("Khôi phục / rebuilding", total=None)
            report = rebuild.rebuild(
                session,
                make_store(settings),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    console.print(
        f"Khôi phục / rebuilt: {report.records} records, {report.versions} versions, "
        f"{report.schools} schools, {report.people} people (disabled, no password)"
    )
    if report.unsealed_archive:
        console.print(
            "[yellow]![/] Kho chưa đóng dấu xong các tệp mô tả cũ: mọi tệp mô tả đều được lấy / the archive's old "
            "sidecars are not all sealed yet (a server seals them once): every sidecar was taken"
        )
    if report.phantoms:
        console.print(
            f"Bỏ qua {len(report.phantoms)} tệp mô tả của giao dịch chưa từng hoàn tất / skipped "
            f"{len(report.phantoms)} sidecars of transactions that never committed"
        )
    if report.problems:
        for problem in report.problems:
            err.print(f"[red]✗[/] {problem}")
        raise typer.Exit(1)


def reindex() -> None:
    """Rebuild the search index from the database (HOSO_SEARCH_ENGINE), with a progress bar.

    The index is derived data: this throws it away and reads every record again. A running server
    keeps serving meanwhile (results are incomplete until the rebuild ends).
    """
    from flows.indexing import Describer
    from search import indexer

    settings = Settings()
    store = make_store(settings)
    with open_session(settings) as session:
        sessions = sessions_like(session)
    engine = open_engine(settings.search_engine, settings.data_dir, session.get_bind().engine)
    engine.clean_temp()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    ) as bar:
        task = bar.add_task(f"Lập chỉ mục / indexing ({settings.search_engine})", total=None)
        describe = Describer(store, settings)
        count = indexer.rebuild(
            sessions, engine, describe, lambda done, total: bar.update(task, completed=done, total=total)
        )
    console.print(f"Đã lập chỉ mục / indexed: [bold]{count}[/] hồ sơ / records ({settings.search_engine})")
