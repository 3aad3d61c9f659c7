"""The `hoso` command line: serve, set up, import, verify, rebuild."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

import migrations as migrate
from archive import audit, importer, rebuild, seed, service
from archive.db import make_engine, make_sessionmaker
from archive.exceptions import HosoError
from archive.models import Person, Role
from archive.schemas import MembershipCreate, PersonCreate, SchoolCreate
from archive.settings import Settings
from archive.storage import make_store
from search.engine import open_engine

if TYPE_CHECKING:
    from signing.keys import KeySource

app = typer.Typer(help="hoso — Hồ sơ số: lưu trữ hồ sơ điện tử trường học.", no_args_is_help=True)
admin_app = typer.Typer(help="Quản trị người dùng / user administration.", no_args_is_help=True)
school_app = typer.Typer(help="Trường học / schools.", no_args_is_help=True)
audit_app = typer.Typer(help="Nhật ký kiểm toán / audit log.", no_args_is_help=True)
db_app = typer.Typer(help="Cơ sở dữ liệu / database.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(school_app, name="school")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
retention_app = typer.Typer(help="Thời hạn bảo quản / retention.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")

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


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations and load the record-type schedule."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    with open_session(settings) as session:
        added = seed.seed_record_types(session)
    console.print(f"Cơ sở dữ liệu đã cập nhật / database up to date; record types added: {len(added)}")


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Địa chỉ lắng nghe"), port: int = typer.Option(8000)) -> None:
    """Serve the archive (API at /api/v1, docs at /docs)."""
    import uvicorn

    from api.app import create_app

    settings = Settings()
    with open_session(settings) as session:
        first = service.ensure_first_admin(session)
    store = make_store(settings)
    if hasattr(store, "clean_temp"):
        store.clean_temp()
    for stale in settings.tmp_dir.glob("*.upload"):
        stale.unlink(missing_ok=True)  # uploads cut off by a crash; never acknowledged
    open_engine(settings.search_engine, settings.data_dir).clean_temp()  # an indexer killed mid-commit
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(f"[bold green]hoso[/] đang chạy tại / serving at [link]{url}/dang-nhap[/]  (API: {url}/docs)")
    if first:
        console.print(
            f"Tài khoản quản trị đầu tiên / first admin: [bold]{first.username}[/]  "
            f"mật khẩu dùng một lần / one-time password: [bold]{first.password}[/]\n"
            f"Đăng nhập tại {url}/dang-nhap, trang sẽ yêu cầu đổi mật khẩu / log in there and choose your own "
            "password (API: POST /api/v1/auth/password)"
        )
    sys.stdout.flush()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")  # hoso's own log
    app = create_app(settings)
    # proxy_headers off: X-Forwarded-For is believed only from HOSO_TRUSTED_PROXIES (api/proxies.py).
    # On SIGTERM, requests still open after 5 s are cut (an upload is then not acknowledged, and stores
    # nothing); the worker was told to stop at the signal itself, so `hoso serve` ends within 10 s.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", access_log=False, proxy_headers=False, timeout_graceful_shutdown=5
    )
    hoso = app.state.hoso

    class StoppingServer(uvicorn.Server):
        """Tells hoso's long work to stop the moment SIGTERM arrives, not after the requests drained."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            hoso.stopping.set()
            hoso.wake()
            super().handle_exit(sig, frame)

    StoppingServer(config).run()


@admin_app.command("create-user")
def create_user(
    username: str = typer.Option(...),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    full_name: str = typer.Option(...),
    role: Role = typer.Option(...),
    school: str | None = typer.Option(None, help="Mã trường (không dùng cho admin)"),
) -> None:
    """Create a person with one role (at a school, except admin)."""
    settings = Settings()
    with open_session(settings) as session:
        membership = MembershipCreate(role=role, school_code=school)
        if school:
            service.school_by_code(session, school)
        person = service.create_person(
            session, None, PersonCreate(username=username, password=password, full_name=full_name)
        )
        service.add_membership(session, None, person, membership)
    console.print(f"Đã tạo / created {username} ({role.value}{' @ ' + school if school else ''})")


@school_app.command("add")
def school_add(
    code: str = typer.Option(..., help="Mã trường theo CSDL ngành"),
    name: str = typer.Option(...),
    district: str | None = typer.Option(None),
    province: str | None = typer.Option(None),
) -> None:
    """Add a school."""
    with open_session(Settings()) as session:
        school = service.create_school(
            session, None, SchoolCreate(code=code, name=name, district=district, province=province)
        )
    console.print(f"Đã thêm trường / added school {school.code}: {school.name}")


@app.command("import")
def import_folder(
    folder: Path = typer.Argument(..., exists=True, file_okay=False),
    as_user: str = typer.Option(..., "--as", help="Tên đăng nhập của người nhập (tác giả mặc định)"),
    metadata: Path | None = typer.Option(None, help="metadata.csv / metadata.yaml (mặc định: trong thư mục)"),
) -> None:
    """Import a folder of files described by metadata.csv or metadata.yaml."""
    settings = Settings()
    with open_session(settings) as session:
        person = session.scalar(select(Person).where(Person.username == as_user, Person.active))
        if person is None:
            fail(f"Không có người dùng {as_user!r}.", f"No active user {as_user!r}.")
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


@audit_app.command("verify")
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


@app.command("gc")
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


@app.command("rebuild-db")
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


@app.command("reindex")
def reindex() -> None:
    """Rebuild the search index from the database (HOSO_SEARCH_ENGINE), with a progress bar.

    The index is derived data: this throws it away and reads every record again. A running server
    keeps serving meanwhile (results are incomplete until the rebuild ends).
    """
    from flows.indexing import Describer
    from search import indexer

    settings = Settings()
    store = make_store(settings)
    engine = open_engine(settings.search_engine, settings.data_dir)
    engine.clean_temp()
    with open_session(settings) as session:
        sessions = make_sessionmaker(session.get_bind())
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    ) as bar:
        task = bar.add_task(f"Lập chỉ mục / indexing ({settings.search_engine})", total=None)
        describe = Describer(store, settings)
        count = indexer.rebuild(
            sessions, engine, describe, lambda done, total: bar.update(task, completed=done, total=total)
        )
    console.print(f"Đã lập chỉ mục / indexed: [bold]{count}[/] hồ sơ / records ({settings.search_engine})")


@retention_app.command("sweep")
def retention_sweep() -> None:
    """Compute every record's term, move those past it and not held to review (xem xét hủy), lock blobs."""
    from flows.destruction import record_blobs
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


@app.command("backup")
def backup_command(dest: Path = typer.Argument(..., help="Thư mục sao lưu (trống) / an empty backup folder")) -> None:
    """Write a consistent copy of the database and every stored object to DEST (TT 05/2025: ≥ 2 copies)."""
    import search.models  # noqa: F401  (every table is part of the copy)
    import signing.models  # noqa: F401
    from retention import backup

    settings = Settings()
    with open_session(settings) as session:
        engine = session.get_bind()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err) as bar:
        task = bar.add_task("Sao lưu / backup", total=None)
        info = backup.backup(
            engine,  # type: ignore[arg-type]
            make_store(settings),
            dest,
            lambda phase, done, total: bar.update(
                task, description=f"Sao lưu / backup: {phase}", completed=done, total=total
            ),
        )
    console.print(
        f"Đã sao lưu / backed up: {sum(info['rows'].values())} dòng / rows, {info['objects']} đối tượng / objects "
        f"→ {dest} (kiểm tra / check: sha256sum -c manifest-sha256.txt)"
    )


@app.command("restore")
def restore_command(
    src: Path = typer.Argument(..., exists=True, file_okay=False, help="Thư mục sao lưu / backup"),
) -> None:
    """Restore a backup into an empty database (run `hoso db upgrade` first) and store; verifies every hash."""
    from sqlalchemy import update

    import search.models  # noqa: F401
    import signing.models  # noqa: F401
    from flows.destruction import record_blobs
    from retention import backup, fixity, schedule
    from retention.models import RecordRetention

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
    if run.state != "ok":
        found = [*run.missing, *[m["sha256"] for m in run.mismatched], *[t["key"] for t in run.tampered]]
        for problem in [*found, *run.audit_problems]:
            err.print(f"[red]✗[/] {problem}")
        raise typer.Exit(1)
    console.print("[bold green]Toàn vẹn / intact[/]")


@app.command("fixity")
def fixity_check() -> None:
    """Re-hash every stored blob and walk the audit chain; exits 1 if anything is altered or missing."""
    from retention import fixity

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
    if run.state != "ok":
        raise typer.Exit(1)
    console.print("[bold green]Toàn vẹn / intact[/]")


@app.command("verify")
def verify_package(
    package: Path = typer.Argument(..., exists=True, dir_okay=False, help="Gói chứng cứ .zip / evidence package"),
    seal_fingerprint: list[str] = typer.Option(
        [],
        "--seal-fingerprint",
        help="Dấu vân tay SHA-256 của con dấu mà đơn vị lưu trữ công bố / the archive's published seal fingerprint",
    ),
    trust_roots: str | None = typer.Option(
        None,
        "--trust-roots",
        help="Tệp/thư mục chứng thư gốc tin cậy, cách nhau bằng dấu phẩy; mặc định HOSO_TRUST_ROOTS / trusted roots",
    ),
    allow_unproven_seal: bool = typer.Option(
        False,
        "--allow-unproven-seal",
        help="Chỉ cảnh báo khi chưa xác minh được người niêm phong (thử nghiệm tự cài) / warn only (self-hosted test)",
    ),
) -> None:
    """Check an evidence package offline (no server, no database); exits 1 unless it is VALID.

    VALID needs the package intact (every file's SHA-256 against the manifest, PREMIS, METS and the
    audit excerpts; every signature; the audit hash chain) AND the seal's maker proven: its
    certificate chains to a trusted root (--trust-roots / HOSO_TRUST_ROOTS) or its SHA-256
    fingerprint is one given with --seal-fingerprint (as the archive shows it on its evidence-packages
    page and in every inspection grant). Otherwise it is NOT PROVEN: anyone could have made it.
    """
    from flows.evidence import report as verify_report
    from flows.evidence.verify import verify
    from signing.keys import parse_fingerprint

    try:
        settings = Settings()
    except ValueError as e:
        fail("Cấu hình HOSO_* không hợp lệ.", f"Invalid HOSO_* configuration: {e}")
    if trust_roots is not None:
        settings = settings.model_copy(update={"trust_roots": trust_roots})
    fingerprints = []
    for text in seal_fingerprint:
        if parse_fingerprint(text) is None:
            fail(
                f"Dấu vân tay không hợp lệ: {text!r} (cần 64 chữ số hex SHA-256, có hoặc không có dấu hai chấm).",
                f"Not a SHA-256 fingerprint: {text!r} (64 hex digits, with or without colons).",
                code=2,
            )
        fingerprints.append(text)
    problem = verify_report.unreadable_roots(settings, explicit=trust_roots is not None)
    if problem:
        fail(*problem)
    try:
        with verify_report.quiet_libraries():
            verdict = verify(package, settings, fingerprints)
    except Exception as e:  # never a traceback: say what could not be done
        fail(f"Không kiểm tra được gói: {e}", f"Could not check the package: {type(e).__name__}: {e}")
    code = verify_report.show(verdict, package, console, err, allow_unproven_seal)
    raise typer.Exit(code)


@app.command("sign-month")
def sign_month(
    school: str = typer.Option(..., "--school", help="Mã trường / school code"),
    period: str = typer.Option(..., "--period", help="Kỳ duyệt, ví dụ 2026-11 / period, e.g. 2026-11"),
    as_user: str = typer.Option(..., "--as", help="Tên đăng nhập của hiệu trưởng / the principal's username"),
    pkcs12: Path | None = typer.Option(None, "--pkcs12", exists=True, dir_okay=False, help="Tệp .p12/.pfx"),
    pkcs11_module: str | None = typer.Option(
        None, "--pkcs11-module", help="Thư viện PKCS#11 của USB token / the token's PKCS#11 module (.so)"
    ),
    token_label: str | None = typer.Option(None, "--token-label", help="Nhãn token khi có nhiều / token label"),
    key_label: str | None = typer.Option(None, "--key-label", help="Nhãn khóa khi có nhiều / key label"),
    csc_credential: str | None = typer.Option(
        None, "--csc-credential", help="Ký số từ xa: mã chứng thư (credential) / remote-signing credential id"
    ),
    csc_url: str | None = typer.Option(
        None, "--csc-url", help="Dịch vụ ký số từ xa (CSC API) / remote-signing service; mặc định HOSO_CSC_URL"
    ),
    otp: bool = typer.Option(False, "--otp", help="Ký số từ xa bằng mã OTP thay cho PIN / use an OTP, not the PIN"),
    level: str | None = typer.Option(None, help="B-B, B-T, B-LT, B-LTA (mặc định: B-LT nếu có TSA)"),
    server: str | None = typer.Option(
        None, "--server", help="Ký trên máy này với USB token, tài liệu ở máy chủ hoso / sign here, documents on URL"
    ),
    confirm_certificate: str | None = typer.Option(
        None,
        "--confirm-certificate",
        help="Lần đầu dùng chứng thư số: dấu vân tay SHA-256 của nó, xác nhận đây là chứng thư của bạn "
        "(không có thì hỏi khi chạy ở cửa sổ lệnh) / first use: the certificate's SHA-256 fingerprint",
    ),
) -> None:
    """Sign every approved item of a school's period with one authorization, asked once.

    The key is a .p12 (password from HOSO_PKCS12_PASSWORD or asked without echo), a PKCS#11
    token (PIN from HOSO_PKCS11_PIN or asked) or a remote-signing credential (--csc-credential;
    PIN from HOSO_CSC_PIN or asked, or --otp): one authorization signs the whole batch. A run that was cut
    off is resumed: items already signed are never signed again.

    With --server URL this runs on the principal's PC: the token stays here, the hoso server at
    URL prepares each document and this PC signs its digest (login password from HOSO_PASSWORD or
    asked).

    A certificate must be the principal's own: one registered to another person, or revoked, is
    refused before anything is signed; its first use asks "Đây là chứng thư số của tôi?" (or takes
    --confirm-certificate FINGERPRINT, as printed), and registers it.
    """
    from signing import batch, certcheck, ownership, workflow
    from signing.models import BatchState

    if sum(x is not None for x in (pkcs12, pkcs11_module, csc_credential)) != 1:
        fail(
            "Chọn một nguồn khóa: --pkcs12, --pkcs11-module hoặc --csc-credential.",
            "Choose one key: --pkcs12, --pkcs11-module or --csc-credential.",
        )
    if server is not None:
        if pkcs11_module is None:
            fail("Ký từ máy cá nhân cần USB token (--pkcs11-module).", "--server needs a token (--pkcs11-module).")
        _sign_month_on_this_pc(
            server, school, period, as_user, pkcs11_module, token_label, key_label, level, confirm_certificate
        )
        return
    settings = Settings()
    with open_session(settings) as session:
        person = session.scalar(select(Person).where(Person.username == as_user, Person.active))
        if person is None:
            fail(f"Không có người dùng {as_user!r}.", f"No active user {as_user!r}.")
        school_row = service.school_by_code(session, school)
        batches = [b for b in workflow.batches_for(session, school_row.id, period) if b.state != BatchState.signed]
        if not batches:
            fail(
                f"Không có đợt duyệt nào đang chờ ký cho {school} kỳ {period}.",
                f"No batch of {school} for {period} is waiting to be signed.",
            )
        target = batches[0]
        confirmed = [confirm_certificate]

        def vet(certificate: Any, chain: list[Any]) -> None:
            """The certificate's validity, then whose it is: refused, or its first use confirmed here, before
            a remote PIN or anything is spent."""
            certcheck.check_signer(settings, certificate, chain)
            try:
                ownership.require_signer(session, person, certificate, confirmed[0], register_confirmed=False)
            except ownership.CertificateUnconfirmed as e:
                confirmed[0] = _confirm_first_use(e.context, e.vi, e.en)
            session.commit()

        if csc_credential is not None:
            key = _open_remote(settings, csc_url, csc_credential, otp, batch.signatures_needed(session, target.id), vet)
        else:
            key = _open_key(pkcs12, pkcs11_module, token_label, key_label)
        sessions = make_sessionmaker(session.get_bind())
        try:
            if csc_credential is None:
                vet(key.certificate, key.chain)
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
            ) as bar:
                task = bar.add_task(f"Ký / signing {school} {period}", total=None)
                report = batch.sign_batch(
                    sessions,
                    make_store(settings),
                    settings,
                    target.id,
                    person,
                    key,
                    level,
                    progress=lambda done, total, _title: bar.update(task, completed=done, total=total),
                    confirm_certificate=confirmed[0],
                )
        finally:
            key.close()
    console.print(
        f"Đợt / batch {report.batch_id}: {report.state}; đã ký / signed: [bold]{report.signed}[/]; "
        f"lỗi / failed: [bold]{len(report.failed)}[/]"
    )
    if report.approval_record_id:
        console.print(f"Biên bản duyệt / approval record: {report.approval_record_id}")
    _say_where_placed(report.placed)
    for failure in report.failed:
        err.print(f"[red]✗[/] {failure['record_id']}: {failure['error']}")
    if report.paused:
        fail(report.paused, "The batch is paused; run the command again when the service is back.")
    if report.failed:
        raise typer.Exit(1)


def _sign_month_on_this_pc(
    url: str,
    school: str,
    period: str,
    username: str,
    module: str,
    token_label: str | None,
    key_label: str | None,
    level: str | None,
    confirm_certificate: str | None,
) -> None:
    """Client-side placement: the token on this PC signs the digests the hoso server prepares."""
    import os

    from signing import client, token

    server = client.HosoServer(url)
    password = os.environ.get("HOSO_PASSWORD") or typer.prompt(
        f"Mật khẩu hoso của {username} / password", hide_input=True
    )
    server.login(username, password)
    waiting = [b for b in server.get("/approvals", school_code=school, period=period) if b["state"] != "signed"]
    if not waiting:
        fail(
            f"Không có đợt duyệt nào đang chờ ký cho {school} kỳ {period}.",
            f"No batch of {school} for {period} is waiting to be signed.",
        )
    pin = os.environ.get("HOSO_PKCS11_PIN")
    if pin is None:
        pin = typer.prompt("Mã PIN của USB token / token PIN", hide_input=True)
    with (
        client.TokenDigestSigner(token.TokenSpec(module, token_label, key_label), pin) as signer,
        Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
        ) as bar,
    ):
        task = bar.add_task(f"Ký / signing {school} {period}", total=None)
        report = client.sign_batch(
            server,
            signer,
            waiting[0]["id"],
            level,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            confirm_certificate=confirm_certificate,
            ask=lambda refusal: _confirm_first_use(refusal.context.get("detail") or {}, refusal.vi, refusal.en),
        )
    console.print(
        f"Đợt / batch {report['batch_id']}: {report['state']}; đã ký / signed: [bold]{report['signed']}[/]; "
        f"lỗi / failed: [bold]{len(report['failed'])}[/]"
    )
    if report.get("approval_record_id"):
        console.print(f"Biên bản duyệt / approval record: {report['approval_record_id']}")
    _say_where_placed(report.get("placed", []))
    for failure in report["failed"]:
        err.print(f"[red]✗[/] {failure['record_id']}: {failure['error']}")
    if report["failed"]:
        raise typer.Exit(1)


def _say_where_placed(placed: list[dict[str, Any]]) -> None:
    """The items whose signature is not on the usual page (first page, an added page, invisible), by name."""
    from signing import placement
    from signing.models import StampPlace

    for item in placed:
        vi, en = placement.SAID[StampPlace(item["stamp_place"])]
        console.print(f"[yellow]![/] {item['record_id']} {item['title']}: {vi} / {en}")


def _open_key(pkcs12: Path | None, module: str | None, token_label: str | None, key_label: str | None) -> KeySource:
    """The principal's key, authorized once: the .p12 password or the token PIN."""
    import os

    from signing import keys, token

    if pkcs12 is not None:
        password = os.environ.get("HOSO_PKCS12_PASSWORD")
        if password is None:
            password = typer.prompt("Mật khẩu tệp chữ ký số / PKCS#12 password", hide_input=True)
        return keys.from_pkcs12(pkcs12.read_bytes(), password.encode())
    pin = os.environ.get("HOSO_PKCS11_PIN")
    if pin is None:
        pin = typer.prompt("Mã PIN của USB token / token PIN", hide_input=True)
    return token.from_token(token.TokenSpec(module or "", token_label, key_label), pin)


def _confirm_first_use(detail: dict[str, Any], vi: str, en: str) -> str:
    """A certificate's first use: show it, and ask "Đây là chứng thư số của tôi?" (a TTY), else refuse with the way on.

    Returns the fingerprint confirmed."""
    c = detail.get("certificate") or {}
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


def _open_remote(
    settings: Settings, url: str | None, credential: str, otp: bool, signatures: int, vet: Any = None
) -> KeySource:
    """A remote-signing credential, authorized once for the batch: its PIN (or an OTP)."""
    import os

    from signing import csc

    url = url or settings.csc_url
    if not url:
        fail("Chưa có dịch vụ ký số từ xa (--csc-url hoặc HOSO_CSC_URL).", "No remote-signing service (--csc-url).")
    spec = csc.CSCSpec(url, credential, os.environ.get("HOSO_CSC_TOKEN"))
    if otp:
        code = typer.prompt("Mã OTP ký số từ xa / remote-signing OTP", hide_input=True)
        return csc.open_remote(spec, None, code, signatures, settings.signing_concurrency, vet)
    pin = os.environ.get("HOSO_CSC_PIN")
    if pin is None:
        pin = typer.prompt("Mã PIN ký số từ xa / remote-signing PIN", hide_input=True)
    return csc.open_remote(spec, pin, None, signatures, settings.signing_concurrency, vet)


@app.command("sign-agent")
def sign_agent(
    origin: str = typer.Option(
        ..., "--origin", help="Địa chỉ trang hoso được phép dùng token, vd https://hoso.truong.edu.vn"
    ),
    pkcs11_module: str = typer.Option(..., "--pkcs11-module", help="Thư viện PKCS#11 của USB token (.so/.dll)"),
    port: int = typer.Option(8765, help="Cổng trên 127.0.0.1"),
    idle: int = typer.Option(600, help="Đóng phiên ký sau chừng này giây không dùng / idle seconds"),
) -> None:
    """Run on the principal's PC: lets the hoso web page sign with the USB token (PIN asked once per batch).

    Listens on 127.0.0.1 only and answers only the page at --origin.
    """
    import uvicorn

    from signing.agent import create_agent

    app_ = create_agent(pkcs11_module, origin, port, idle)
    console.print(
        f"[bold green]hoso sign-agent[/] tại / at http://127.0.0.1:{port} cho trang / for [bold]{origin}[/]; "
        "giữ cửa sổ này mở khi ký / keep this window open while signing"
    )
    sys.stdout.flush()
    uvicorn.run(app_, host="127.0.0.1", port=port, log_level="warning")


@app.command("validate")
def validate_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="PDF, hoặc tệp gốc khi có --p7s"),
    p7s: Path | None = typer.Option(None, "--p7s", exists=True, dir_okay=False, help="Chữ ký rời .p7s"),
    offline: bool = typer.Option(False, help="Không tra cứu OCSP/CRL trực tuyến"),
) -> None:
    """Check every signature of a PDF, or a file with its detached .p7s, against HOSO_TRUST_ROOTS."""
    from signing import validate

    settings = Settings()
    if p7s is not None:
        with file.open("rb") as content:
            reports = validate.validate_detached(settings, content, p7s.read_bytes(), online=not offline)
    else:
        with file.open("rb") as pdf:
            reports = validate.validate_pdf(settings, pdf, online=not offline)
    if not reports:
        fail("Tệp không có chữ ký số nào.", "The file carries no digital signature.")
    table = Table("#", "Người ký / signer", "Mức / level", "Thời điểm / time", "Kết luận / result")
    for i, r in enumerate(reports, start=1):
        ok = validate.holds(r)  # the typed verdict: a TEST certificate's valid signature holds too
        table.add_row(
            str(i),
            r["signer"]["common_name"],
            r.get("level", r["kind"]),
            r.get("timestamp_time") or r.get("signing_time") or "",
            f"[{'green' if ok else 'red'}]{r['summary_vi']}[/]",
        )
    console.print(table)
    if not validate.all_ok(reports):
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except HosoError as exc:
        err.print(f"[bold red]Lỗi:[/] {exc.vi}\n[red]Error:[/] {exc.en}")
        sys.exit(1)
    except ValueError as exc:  # pydantic validation of CLI input
        err.print(f"[bold red]Lỗi / Error:[/] {exc}")
        sys.exit(1)


@app.command("demo-cert")
def demo_cert_command(
    out: Path = typer.Option(Path("hoso-demo.p12"), "--out", help="Tệp .p12 sẽ tạo / the .p12 to write"),
    full_name: str = typer.Option("Hiệu trưởng thử nghiệm", "--name", help="Họ tên trên chứng thư / name"),
    title: str = typer.Option("Hiệu trưởng", "--title", help="Chức vụ / title"),
    password: str = typer.Option(
        ...,
        prompt="Mật khẩu cho tệp .p12 / password",
        hide_input=True,
        confirmation_prompt=True,
        envvar="HOSO_DEMO_P12_PASSWORD",
    ),
) -> None:
    """A TEST signing certificate (.p12) to try the monthly signing; never valid for real records.

    Its names say THỬ NGHIỆM — KHÔNG CÓ GIÁ TRỊ PHÁP LÝ, reports flag its signatures, and its root is
    trusted only where HOSO_TRUST_DEMO_ROOT=1 (as `make run` sets).
    """
    from signing import demo_cert

    if out.exists():
        fail(f"{out} đã có; chọn tệp khác (--out).", f"{out} exists; choose another file (--out).")
    if not 1 <= len(full_name.strip()) <= 48 or not 1 <= len(title.strip()) <= 64:
        fail("Họ tên tối đa 48 ký tự, chức vụ tối đa 64.", "The name holds at most 48 characters, the title 64.")
    if len(password) < 6:
        fail("Mật khẩu .p12 cần ít nhất 6 ký tự.", "The .p12 password needs at least 6 characters.")
    settings = Settings()
    made = demo_cert.create(settings, full_name.strip(), title.strip(), out, password)
    console.print(
        f"[bold yellow]CHỨNG THƯ THỬ NGHIỆM / TEST CERTIFICATE[/] — không có giá trị pháp lý / no legal value\n"
        f"Tệp / file: [bold]{made.path}[/]  (hết hạn / expires {made.not_after:%d/%m/%Y})\n"
        f"Chủ thể / subject: {made.subject}\n"
        f"Gốc thử nghiệm / demo root: {made.root} — được tin cậy khi / trusted when HOSO_TRUST_DEMO_ROOT=1"
    )


if __name__ == "__main__":
    main()
