"""`hoso retention sweep` and `hoso gc`: what leaves review by its term, and what no row references.

Both run on a schedule inside `hoso serve`'s worker too; these commands run them now, from a shell.
"""

from __future__ import annotations

import typer

from api.cli.common import console, err, open_session
from archive.storage import make_store
from flows.settings import Settings


def retention_sweep() -> None:
    """Compute every record's term, move those past it and not held to review (xem xét hủy), lock blobs."""
    from flows.blobs import record_blobs
    from retention import schedule
    from retention import service as retention

    settings = Settings()
    with open_session(settings) as session:
        result = retention.sweep(session)
        locked = 0
        while done := schedule.lock_pending(session, make_store(settings), record_blobs):
            locked += done
    console.print(
        f"Tính mới / computed: {result['computed']}, tính lại / recomputed: {result['recomputed']}, "
        f"chuyển sang xem xét hủy / moved to review: [bold]{result['moved_to_review']}[/] "
        f"(đang chờ / in review: {result['in_review']}), khóa lưu giữ / locked: {locked}"
    )


def gc_command(
    grace_hours: float = typer.Option(24.0, "--grace-hours", min=0, help="Chỉ xóa đối tượng cũ hơn / older than"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Chỉ liệt kê, không xóa / list only"),
) -> None:
    """Remove objects no row references (orphan blobs, signed files, unsealed sidecars) that are older
    than the grace period; a locked one is never touched (the store refuses) and is reported."""
    from datetime import timedelta

    from retention import orphans

    settings = Settings()
    with open_session(settings) as session:
        report = orphans.collect(session, make_store(settings), timedelta(hours=grace_hours), dry_run)
    verb = "sẽ xóa / would remove" if dry_run else "đã xóa / removed"
    for key in report.removed:
        console.print(f"{'·' if dry_run else '✓'} {key}")
    for key in report.locked:
        err.print(f"[yellow]![/] bị khóa, giữ nguyên / locked, kept: {key}")
    console.print(
        f"{verb}: {len(report.removed)} ({report.removed_bytes} byte); "
        f"bị khóa / locked: {len(report.locked)}; chưa quá hạn chờ / within grace: {report.young}"
    )
