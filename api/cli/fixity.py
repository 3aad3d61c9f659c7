"""`hoso fixity` and `hoso audit verify`: is every stored byte and every audit event still what was written?

Problems go to stderr, one a line, and the exit code is 1, so a cron job mails them.
"""

from __future__ import annotations

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from api.cli.common import console, err, fail, open_session
from archive import audit
from archive.storage import make_store
from flows.settings import Settings


def fixity_check() -> None:
    """Re-hash every stored blob and walk the audit chain; exits 1 if anything is altered or missing."""
    from retention import fixity
    from retention.models import FixityState

    settings = Settings()
    with (
        open_session(settings) as session,
        Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=err
        ) as bar,
    ):
        task = bar.add_task("Kiểm tra toàn vẹn / fixity", total=None)
        run = fixity.run(
            session, make_store(settings), "cli", lambda done, total: bar.update(task, completed=done, total=total)
        )
    console.print(
        f"Lần kiểm tra / run #{run.id}: {run.blobs_checked} blob, {run.bytes_checked} byte, "
        f"{run.audit_events_checked} sự kiện nhật ký / audit events"
    )
    for bad in run.mismatched:
        err.print(f"[red]✗[/] sai băm / altered: {bad['sha256']} (hồ sơ / records: {', '.join(bad['records'])})")
    for sha in run.missing:
        err.print(f"[red]✗[/] mất / missing: {sha}")
    for bad in run.tampered:
        err.print(
            f"[red]✗[/] bị can thiệp / tampered: {bad['key']}: {bad['problem']} "
            f"(hồ sơ / records: {', '.join(bad['records'])})"
        )
    for orphan in run.orphans:
        err.print(f"[yellow]![/] mồ côi / orphan ({orphan['kind']}): {orphan['key']}")
    if run.orphans_found:
        err.print(f"{run.orphans_found} đối tượng mồ côi / orphans (hoso gc --dry-run lists what it would remove)")
    if run.anchor_key:
        console.print(f"Mốc neo nhật ký / audit anchor: {run.anchor_key}")
    for problem in run.audit_problems:
        err.print(f"[red]✗[/] nhật ký / audit log: {problem}")
    if run.state != FixityState.ok:
        raise typer.Exit(1)
    console.print("[bold green]Toàn vẹn / intact[/]")


def audit_verify() -> None:
    """Check the audit log's hash chain from the first event to the last, and against the anchors
    the store keeps of its head (deleting the last events and rewriting the head is caught)."""
    from archive import anchors

    settings = Settings()
    with open_session(settings) as session:
        report = audit.verify_chain(session)
        anchored = anchors.verify(session, make_store(settings))
    problems = [*report.problems, *anchored.problems]
    if anchored.newest is None:
        console.print("[yellow]![/] Chưa có mốc neo nào / no anchor in the store yet (hoso fixity writes one)")
    else:
        console.print(
            f"Mốc neo / anchors: {anchored.checked}, mới nhất / newest: {anchored.newest.key} "
            f"(sự kiện / event {anchored.newest.seq})"
        )
    if not problems:
        console.print(f"[green]Chuỗi nhật ký toàn vẹn / audit chain intact[/]: {report.checked} events")
        return
    for problem in problems:
        err.print(f"[red]✗[/] {problem}")
    fail(
        f"Nhật ký kiểm toán bị thay đổi ({len(problems)} lỗi).",
        f"The audit log was tampered with ({len(problems)} problems).",
    )
