"""The principal's PC: `hoso sign-month --server URL` and `hoso sign-agent`, the token never leaving it.

`sign-month --server` logs in to the hoso server, which prepares each document; the token here signs
its digest. `sign-agent` lets the approval page in the browser do the same through 127.0.0.1.
"""

from __future__ import annotations

import sys

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.cli.common import console, err, fail
from api.cli.keys import confirm_first_use, reveal, say_report, token_pin
from flows.settings import Settings
from signing.models import BatchState


def sign_month_on_this_pc(
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
    from signing import client, token

    settings = Settings()
    server = client.HosoServer(url)
    password = reveal(settings.password) or typer.prompt(f"Mật khẩu hoso của {username} / password", hide_input=True)
    server.login(username, password)
    waiting = [
        b for b in server.get("/approvals", school_code=school, period=period) if b["state"] != BatchState.signed
    ]
    if not waiting:
        fail(
            f"Không có đợt duyệt nào đang chờ ký cho {school} kỳ {period}.",
            f"No batch of {school} for {period} is waiting to be signed.",
        )
    pin = token_pin(settings)
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
            ask=lambda refusal: confirm_first_use(refusal.context.get("detail") or {}, refusal.vi, refusal.en),
        )
    say_report(
        report["batch_id"],
        report["state"],
        report["signed"],
        report["failed"],
        report.get("approval_record_id"),
        report.get("placed", []),
    )
    if report["failed"]:
        raise typer.Exit(1)


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

    from api.sign_agent import create_agent

    app_ = create_agent(pkcs11_module, origin, port, idle)
    console.print(
        f"[bold green]hoso sign-agent[/] tại / at http://127.0.0.1:{port} cho trang / for [bold]{origin}[/]; "
        "giữ cửa sổ này mở khi ký / keep this window open while signing"
    )
    sys.stdout.flush()
    uvicorn.run(app_, host="127.0.0.1", port=port, log_level="warning")
