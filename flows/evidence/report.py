"""What `hoso verify` prints: the verdict in Vietnamese and English, and its exit code.

The text derives from the typed verdict (`flows.evidence.verify.Outcome`, `SealMaker`, `SealTime`),
never the other way round. Everything the package supplies (file names, certificate subjects,
error texts) is printed as plain text with control characters replaced: a forger's certificate
name must not be able to carry terminal escapes that redraw "NOT PROVEN" as "VALID", nor rich
markup.
"""

from __future__ import annotations

import logging
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from flows.evidence.verify import TRUST_HINT, Outcome, PackageVerdict, SealMaker, SealTime
from flows.settings import Settings
from signing import trust

MAKER = {
    SealMaker.trusted_root: (
        "đã xác minh: chứng thư dẫn tới gốc tin cậy trên máy này",
        "proven: the certificate chains to a root trusted here",
    ),
    SealMaker.fingerprint: (
        "đã xác minh: trùng dấu vân tay bạn đưa (--seal-fingerprint)",
        "proven: it matches the fingerprint you gave (--seal-fingerprint)",
    ),
    SealMaker.fingerprint_mismatch: (
        "KHÔNG trùng dấu vân tay bạn đưa: gói không được niêm phong bằng chứng thư đó",
        "does NOT match the fingerprint you gave: this package was not sealed with that certificate",
    ),
    SealMaker.unproven: (
        "chưa xác minh: không dẫn tới gốc tin cậy, chưa so dấu vân tay",
        "unproven: no chain to a trusted root, and no fingerprint compared",
    ),
}


def _text(value: object) -> str:
    """Package-supplied text made safe to print: control and format characters (escapes, carriage
    returns, bidi overrides) replaced, markup escaped."""
    cleaned = "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf") and c != "\n" else c for c in str(value))
    return escape(cleaned)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """pyHanko logs (sometimes with a traceback) what the verdict already reports; keep it off the screen."""
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator", "asyncio")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.CRITICAL + 1)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def unreadable_roots(settings: Settings, explicit: bool) -> tuple[str, str] | None:
    """Why the configured trust roots cannot be used, or None (an empty --trust-roots is an error)."""
    try:
        roots = trust.load_roots(settings)
    except (OSError, ValueError, TypeError) as e:
        return (
            f"Không đọc được chứng thư gốc tin cậy ({settings.trust_roots}): {e}",
            f"Cannot read the trusted roots ({settings.trust_roots}): {e}",
        )
    if explicit and not roots:
        return (
            f"Không có chứng thư gốc nào trong {settings.trust_roots}.",
            f"No root certificate found in {settings.trust_roots}.",
        )
    return None


def _time_label(kind: SealTime, tsa: str) -> tuple[str, str]:
    return {
        SealTime.timestamp: (f"dấu thời gian RFC 3161 của {tsa}", f"RFC 3161 timestamp from {tsa}"),
        SealTime.untrusted_timestamp: (
            f"dấu thời gian RFC 3161 của {tsa}, nhưng TSA không dẫn tới gốc tin cậy: chưa chứng minh",
            f"RFC 3161 timestamp from {tsa}, whose chain does not reach a trusted root: unproven",
        ),
        SealTime.claimed: (
            "thời điểm người niêm phong tự khai, CHƯA được chứng minh (không có dấu thời gian)",
            "the sealer's claimed signing time, UNPROVEN (no timestamp)",
        ),
        SealTime.unknown: ("không rõ", "unknown"),
    }[kind]


def _signatures(verdict: PackageVerdict) -> tuple[str, str]:
    n = verdict.signatures_checked
    if n == 0:
        return ("không có chữ ký số nào ngoài niêm phong", "no digital signature besides the seal")
    if verdict.every_signature_holds:
        return (
            f"mọi chữ ký đều đúng và dẫn tới gốc tin cậy ({n})",
            f"every signature holds: intact and chains to a trusted root ({n})",
        )
    who = _text(", ".join(verdict.unproven_signers) or "?")
    return (
        f"{n} chữ ký nguyên vẹn (toàn vẹn: có); {n - verdict.signatures_holding} chưa chứng minh được danh tính "
        f"người ký (không dẫn tới gốc tin cậy): {who}",
        f"{n} signatures intact (integrity: yes); for {n - verdict.signatures_holding} the signer's identity is "
        f"unproven (no chain to a trusted root): {who}",
    )


def _valid_tail(verdict: PackageVerdict) -> tuple[str, str]:
    """What a VALID verdict adds about the signatures inside: only what holds."""
    if verdict.signatures_checked == 0:
        return "không có chữ ký số nào khác", "no other signature inside"
    if verdict.every_signature_holds:
        return "mọi chữ ký đúng", "every signature holds"
    return (
        "chữ ký: toàn vẹn có, danh tính người ký chưa chứng minh",
        "signatures: integrity yes, signers' identity unproven",
    )


def show(verdict: PackageVerdict, package: Path, out: Console, err: Console, allow_unproven_seal: bool) -> int:
    """Print the verdict; the exit code: 0 for VALID (or NOT PROVEN when the person allowed it), else 1."""
    out.print(f"Gói / package: {_text(package)}")
    out.print(f"SHA-256 của gói / package SHA-256: {verdict.package_sha256 or '?'}")
    seal = verdict.seal
    if seal is not None:
        vi, en = MAKER[seal.maker]
        when_vi, when_en = _time_label(seal.time_kind, _text(seal.tsa))
        out.print(f"Niêm phong bởi / sealed by: {_text(seal.subject)}")
        out.print(f"  Dấu vân tay SHA-256 của chứng thư / certificate SHA-256 fingerprint: {seal.fingerprint}")
        out.print(f"  Thời điểm niêm phong / seal time: {_text(seal.time or '?')} — {when_vi} / {when_en}")
        out.print(f"  Người niêm phong / sealer: {vi} / {en}")
        if seal.test_certificate:
            out.print(
                "  [yellow]Chứng thư THỬ NGHIỆM, không có giá trị pháp lý / a TEST certificate, no legal value[/]"
            )
    out.print(
        f"Đã kiểm tra / checked: {verdict.files_checked} tệp / files, {verdict.signatures_checked} chữ ký / "
        f"signatures, {verdict.audit_events_checked} sự kiện nhật ký / audit events, {verdict.cross_checked} "
        "mã băm đối chiếu PREMIS/METS/nhật ký / hashes cross-checked in PREMIS/METS/audit"
    )
    if verdict.intact:
        vi, en = _signatures(verdict)
        out.print(f"Chữ ký / signatures: {vi} / {en}")
    for vi, en in verdict.notes:
        out.print(f"[yellow]•[/] {_text(vi)}\n  {_text(en)}")
    for vi, en in verdict.problems:
        err.print(f"[red]✗[/] {_text(vi)}\n  {_text(en)}")
    outcome = verdict.outcome
    if outcome is Outcome.invalid:
        err.print("[bold red]KHÔNG HỢP LỆ / INVALID[/]: gói đã bị thay đổi hoặc hỏng / altered or damaged")
        return 1
    assert seal is not None
    if outcome is Outcome.valid:
        name = _text(seal.common_name or seal.subject)
        tail_vi, tail_en = _valid_tail(verdict)
        out.print(
            f"[bold green]HỢP LỆ / VALID[/]: gói nguyên vẹn, do {name} niêm phong; {tail_vi} / "
            f"intact, sealed by {name}; {tail_en}"
        )
        return 0
    downgraded = allow_unproven_seal and seal.maker is SealMaker.unproven
    target = out if downgraded else err
    label = "[bold yellow]CẢNH BÁO / WARNING[/]: " if downgraded else ""
    target.print(
        f"{label}[bold red]CHƯA CHỨNG MINH / NOT PROVEN[/]: bất kỳ ai cũng có thể đã tạo gói này / "
        "anyone could have made this package"
    )
    target.print(
        "Điều đã chứng minh: nội dung khớp với niêm phong (toàn vẹn: có); người niêm phong: chưa chứng minh "
        "(danh tính: chưa chứng minh). / What holds: the contents match the seal (integrity: yes); who sealed "
        "it is unproven (identity: unproven)."
    )
    target.print(f"{TRUST_HINT[0]}\n{TRUST_HINT[1]}")
    if downgraded:
        out.print(
            "[yellow]Chấp nhận do --allow-unproven-seal (chỉ dùng để thử nghiệm) / accepted because of "
            "--allow-unproven-seal (for a self-hosted test only)[/]"
        )
        return 0
    return 1
