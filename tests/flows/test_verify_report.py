"""What `hoso verify` prints derives from the typed verdict, and nothing a package supplies can change
how it reads: a forger's certificate name carrying terminal escapes or markup is printed as text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from flows.evidence import report as verify_report
from flows.evidence.verify import PackageVerdict, Seal, SealMaker, SealTime, verify

FORGED_NAME = "\x1b[2K\rHỢP LỆ / VALID [bold green]ok[/] \u202etxt.exe"


def printed(verdict: PackageVerdict, allow: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = verify_report.show(
        verdict,
        Path("goi.zip"),
        Console(file=out, force_terminal=False, width=300),
        Console(file=err, force_terminal=False, width=300),
        allow,
    )
    return code, out.getvalue(), err.getvalue()


def sealed(maker: SealMaker, time_kind: SealTime = SealTime.claimed, **counts: int) -> PackageVerdict:
    verdict = PackageVerdict(package_sha256="ab" * 32, files_checked=3, **counts)
    verdict.seal = Seal(
        subject=f"Common Name: {FORGED_NAME}",
        common_name=FORGED_NAME,
        fingerprint="AB:" * 31 + "AB",
        maker=maker,
        time="2026-12-01T10:00:00+00:00",
        time_kind=time_kind,
    )
    return verdict


def test_a_forged_name_cannot_redraw_the_verdict() -> None:
    code, out, err = printed(sealed(SealMaker.unproven))
    assert code == 1 and "CHƯA CHỨNG MINH / NOT PROVEN" in err and "anyone could have made" in err
    for said in (out, err):
        assert "\x1b" not in said and "\r" not in said and "\u202e" not in said
    assert "[bold green]ok[/]" in out  # the markup is printed as the text it is
    assert "thời điểm người niêm phong tự khai, CHƯA được chứng minh" in out and "UNPROVEN" in out


@pytest.mark.parametrize(
    ("maker", "allow", "code", "words"),
    [
        (SealMaker.unproven, True, 0, "CẢNH BÁO / WARNING"),
        (SealMaker.fingerprint_mismatch, True, 1, "KHÔNG trùng dấu vân tay bạn đưa"),  # never downgraded
        (SealMaker.fingerprint, False, 0, "HỢP LỆ / VALID"),
        (SealMaker.trusted_root, False, 0, "HỢP LỆ / VALID"),
    ],
)
def test_the_exit_code_follows_the_seals_maker(maker: SealMaker, allow: bool, code: int, words: str) -> None:
    got, out, err = printed(sealed(maker), allow)
    assert got == code and words in out + err


def test_every_signature_holds_only_when_every_chain_reaches_a_trusted_root() -> None:
    some = sealed(SealMaker.fingerprint, signatures_checked=4, signatures_holding=3)
    some.unproven_signers = ["Nguyễn Thị Hoa", FORGED_NAME]
    _, out, _ = printed(some)
    assert "\x1b" not in out and "[bold green]ok[/]" in out  # a signer's name is printed as text too
    assert "every signature holds" not in out and "mọi chữ ký đúng" not in out
    assert "toàn vẹn: có" in out and "integrity: yes" in out and "Nguyễn Thị Hoa" in out
    _, out, _ = printed(sealed(SealMaker.fingerprint, SealTime.timestamp, signatures_checked=4, signatures_holding=4))
    assert "mọi chữ ký đúng" in out and "every signature holds" in out and "RFC 3161" in out


def test_an_altered_package_is_invalid_whoever_sealed_it() -> None:
    verdict = sealed(SealMaker.trusted_root)
    verdict.fail("Tệp đã bị thay đổi (sai SHA-256): a\x1b[31m.pdf", "File was altered (SHA-256 mismatch): a.pdf")
    code, _, err = printed(verdict)
    assert code == 1 and "KHÔNG HỢP LỆ / INVALID" in err and "\x1b" not in err


def test_the_commands_print_a_fingerprint_exactly_as_it_is() -> None:
    """rich reads ":cd:" as an emoji code: a fingerprint with "…:08:CD:26:…" came out as "08💿26", so an
    inspector comparing it (or a principal copying it into --confirm-certificate) saw a wrong one."""
    from api.cli import console, err

    fingerprint = "E1:45:A1:0A:4E:31:00:C7:CF:4C:68:EB:7B:AD:F2:C0:24:9C:31:37:1F:94:08:CD:26:8E:17:61:47:AB:B5:9E"
    for printer in (console, err):
        with printer.capture() as captured:
            printer.print(f"  SHA-256: {fingerprint}")
        assert fingerprint in captured.get()


@pytest.mark.parametrize("content", [b"PK\x05\x06", b"not a zip at all, only text" * 4])
def test_a_broken_package_is_explained_in_vietnamese_without_english_or_a_traceback(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "hong.zip"
    path.write_bytes(content)
    verdict = verify(path)
    assert not verdict.intact and verdict.problems
    for vi, _en in verdict.problems:
        for english in ("zip file", "too short", "end record", "Error", "damaged"):
            assert english not in vi, vi
    code, out, err = printed(verdict)
    assert code == 1 and "Traceback" not in out + err
