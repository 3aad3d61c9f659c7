"""`hoso verify` and `hoso validate`: offline checks an inspector runs on what the archive handed out.

Neither needs the database: `verify` reads an evidence package, `validate` one signed file, and both
trust only the roots configured (HOSO_TRUST_ROOTS, or --trust-roots).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from api.cli.common import console, err, fail
from flows.settings import Settings


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
