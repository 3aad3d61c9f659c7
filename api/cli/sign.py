"""`hoso sign-month`: a school's period signed with one authorization, on the server or on the principal's PC.

On the server the key is a .p12, a token attached there, or a remote-signing credential, and the
run is `signing.batch.sign_batch` (resumable: an item already signed is never signed again). With
--server the token stays on the principal's PC and `api/cli/sign_pc.py` signs the digests the server
prepares.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.cli.common import active_person, err, fail, open_session, sessions_like
from api.cli.keys import KeyChoice, confirm_first_use, open_key, open_remote, say_report
from api.cli.sign_pc import sign_month_on_this_pc
from archive import service
from archive.storage import make_store
from flows.settings import Settings

if TYPE_CHECKING:
    from signing.batch import Report


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
    choice = KeyChoice(pkcs12, pkcs11_module, token_label, key_label, csc_credential, csc_url, otp)
    if choice.sources() != 1:
        fail(
            "Chọn một nguồn khóa: --pkcs12, --pkcs11-module hoặc --csc-credential.",
            "Choose one key: --pkcs12, --pkcs11-module or --csc-credential.",
        )
    if server is not None:
        if pkcs11_module is None:
            fail("Ký từ máy cá nhân cần USB token (--pkcs11-module).", "--server needs a token (--pkcs11-module).")
        sign_month_on_this_pc(
            server, school, period, as_user, pkcs11_module, token_label, key_label, level, confirm_certificate
        )
        return
    report = _sign_on_server(Settings(), school, period, as_user, choice, level, confirm_certificate)
    say_report(report.batch_id, report.state, report.signed, report.failed, report.approval_record_id, report.placed)
    if report.paused:
        fail(report.paused, "The batch is paused; run the command again when the service is back.")
    if report.failed:
        raise typer.Exit(1)


def _sign_on_server(
    settings: Settings,
    school: str,
    period: str,
    as_user: str,
    choice: KeyChoice,
    level: str | None,
    confirm_certificate: str | None,
) -> Report:
    """The first batch of the period not yet signed, signed here with the key chosen."""
    from signing import batch, certcheck, ownership, workflow
    from signing.models import BatchState

    with open_session(settings) as session:
        person = active_person(session, as_user)
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
                confirmed[0] = confirm_first_use(e.context, e.vi, e.en)
            session.commit()

        if choice.csc_credential is not None:
            needed = batch.signatures_needed(session, target.id)
            key = open_remote(settings, choice.csc_url, choice.csc_credential, choice.otp, needed, vet)
        else:
            key = open_key(settings, choice.pkcs12, choice.pkcs11_module, choice.token_label, choice.key_label)
        sessions = sessions_like(session)
        try:
            if choice.csc_credential is None:
                vet(key.certificate, key.chain)
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
            ) as bar:
                task = bar.add_task(f"Ký / signing {school} {period}", total=None)
                return batch.sign_batch(
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
