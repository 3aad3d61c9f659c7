"""`hoso demo-cert`: a TEST signing certificate, so a school can try the monthly signing before buying one."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.common import console, fail
from flows.settings import Settings


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
