"""`hoso verify PACKAGE.zip`: an evidence package checked offline, with no server and no database.

Anyone can build a package that is perfectly consistent: hoso's writer is open source, and a key
with a certificate carrying the archive's name takes a second to make. So consistency proves only
that nothing changed after sealing; what proves who sealed is the seal certificate itself, tied to
the archive either by a chain to a root the inspector trusts (`HOSO_TRUST_ROOTS` / `--trust-roots`
on the inspector's machine; never the roots a package carries, which its maker chose) or by its
SHA-256 fingerprint matching the one the archive publishes (`--seal-fingerprint`). The outcome says
which: VALID (intact, maker proven), NOT PROVEN (intact, but anyone could have made it), INVALID.

What is checked, in order, each failure named:
1. every file listed in `manifest-sha256.txt` is present and hashes to its line; nothing unlisted;
2. `seal.p7s` is a valid signature over the manifest, and who made it (above), and when (an
   RFC 3161 timestamp when the archive had a TSA; else the sealer's own claim, labelled so);
3. every PDF's embedded signatures and every detached `.p7s` are intact and valid, no PDF was
   modified after signing, and whose chain reaches a trusted root (revocation data embedded at
   B-LT is used; nothing is fetched);
4. each audit excerpt re-computes: every event's hash from its content, consecutive events link;
5. the hashes the package's PREMIS, METS and audit excerpts name agree with the files
   (`flows.evidence.crosscheck`);
6. a dossier package's EAD and TT 05 records validate against the schemas it carries, and the
   files they name are there with those hashes (`flows.evidence.descriptive_check`);
7. the ZIP container itself is exactly as hoso writes it (`archive.zipcheck`), so no header byte
   can change unnoticed either.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from archive import audit, zipcheck
from archive.package import MANIFEST, SEAL, parse_manifest
from flows.evidence import crosscheck as package_crosscheck
from flows.evidence import descriptive_check
from flows.settings import Settings
from signing import keys, trust, validate

TRUST_HINT = (
    "So với dấu vân tay SHA-256 mà đơn vị lưu trữ công bố (trang “Gói chứng cứ”, trang chủ của thanh tra, "
    "quyết định cấp quyền): --seal-fingerprint; hoặc chỉ ra gốc tin cậy: --trust-roots.",
    "Compare with the SHA-256 fingerprint the archive publishes (its evidence-packages page, the inspector's "
    "home page, every inspection grant): --seal-fingerprint; or give a trusted root: --trust-roots.",
)


class Outcome(StrEnum):
    valid = "valid"  # intact, and the seal's maker is proven
    not_proven = "not_proven"  # intact, but anyone could have made it
    invalid = "invalid"  # altered, damaged, or not a package at all


class SealMaker(StrEnum):
    """What ties the seal's certificate to the archive."""

    trusted_root = "trusted_root"  # its chain reaches a root trusted on this machine
    fingerprint = "fingerprint"  # its SHA-256 fingerprint is one the inspector gave
    fingerprint_mismatch = "fingerprint_mismatch"  # the inspector gave fingerprints; it is none of them
    unproven = "unproven"


class SealTime(StrEnum):
    timestamp = "timestamp"  # RFC 3161, from a TSA whose chain reaches a trusted root
    untrusted_timestamp = "untrusted_timestamp"  # RFC 3161, from a TSA not trusted here
    claimed = "claimed"  # the sealer's own clock: unproven
    unknown = "unknown"


@dataclass
class Seal:
    subject: str
    common_name: str
    fingerprint: str
    maker: SealMaker
    time: str | None
    time_kind: SealTime
    tsa: str = ""
    test_certificate: bool = False


@dataclass
class PackageVerdict:
    package_sha256: str = ""
    files_checked: int = 0
    signatures_checked: int = 0
    signatures_holding: int = 0  # intact, valid, and the signer's chain reaches a trusted root
    unproven_signers: list[str] = field(default_factory=list)  # intact, but identity not proven
    audit_events_checked: int = 0
    cross_checked: int = 0  # hashes named by PREMIS, METS and the audit excerpts that agree
    problems: list[tuple[str, str]] = field(default_factory=list)  # (vi, en)
    notes: list[tuple[str, str]] = field(default_factory=list)
    seal: Seal | None = None
    trust_roots: int = 0  # roots configured on this machine

    @property
    def intact(self) -> bool:
        """Nothing altered or damaged, and a seal that holds over the manifest (maker aside)."""
        return not self.problems and self.seal is not None

    @property
    def outcome(self) -> Outcome:
        if not self.intact:
            return Outcome.invalid
        assert self.seal is not None
        if self.seal.maker in (SealMaker.trusted_root, SealMaker.fingerprint):
            return Outcome.valid
        return Outcome.not_proven

    @property
    def every_signature_holds(self) -> bool:
        return self.intact and self.signatures_checked > 0 and self.signatures_holding == self.signatures_checked

    def fail(self, vi: str, en: str) -> None:
        self.problems.append((vi, en))


def _root(names: list[str]) -> str:
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) != 1:
        raise ValueError("the package must hold exactly one root folder")
    return tops.pop()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, settings: Settings | None = None, seal_fingerprints: Iterable[str] = ()) -> PackageVerdict:
    """Check the package at `path`. Trust is `settings.trust_roots` (the inspector's configuration);
    `seal_fingerprints` are fingerprints the archive published (any form `keys.parse_fingerprint`
    reads). Never raises for anything in the package: every fault is a problem in the verdict."""
    verdict = PackageVerdict()
    wanted = set()
    for text in seal_fingerprints:
        parsed = keys.parse_fingerprint(text)
        if parsed is None:
            raise ValueError(f"not a SHA-256 fingerprint: {text!r}")
        wanted.add(parsed)
    with tempfile.TemporaryDirectory(prefix="hoso-verify-") as tmp:
        settings = settings or Settings(data_dir=Path(tmp) / "data")
        verdict.trust_roots = len(trust.load_roots(settings))  # the inspector's configuration: its errors raise
        try:
            verdict.package_sha256 = _sha256_of(path)
            for problem in zipcheck.check(path):
                verdict.fail(
                    f"Cấu trúc ZIP đã bị thay đổi: {problem.vi}", f"The ZIP container was altered: {problem.en}"
                )
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            verdict.fail(
                "Không mở được gói: đây không phải một tệp ZIP hợp lệ", f"Cannot open the package (not a ZIP): {e}"
            )
            return verdict
        except Exception as e:  # struct errors and the like from a malformed container
            verdict.fail("Không mở được gói: cấu trúc ZIP bị hỏng", f"Cannot open the package: {type(e).__name__}: {e}")
            return verdict
        with archive:
            try:
                _verify_open(archive, settings, wanted, Path(tmp), verdict)
            except Exception as e:  # a verifier reports; whatever a package holds, it never crashes
                verdict.fail(
                    f"Gói hỏng, không đọc được: {type(e).__name__}: {e}",
                    f"The package is damaged and cannot be read: {type(e).__name__}: {e}",
                )
    return verdict


def _reader(archive: zipfile.ZipFile, inside: dict[str, str]) -> Callable[[str], bytes]:
    """Reads a small package file (metadata, reports), refusing one too large to be hoso's."""

    def read(rel: str) -> bytes:
        info = archive.getinfo(inside[rel])
        if info.file_size > package_crosscheck.MAX_METADATA:
            raise ValueError(f"{rel} is too large to be metadata")
        return archive.read(info)

    return read


def _verify_open(
    archive: zipfile.ZipFile, settings: Settings, wanted: set[str], tmp: Path, verdict: PackageVerdict
) -> None:
    names = [i.filename for i in archive.infolist() if not i.is_dir()]
    try:
        root = _root(names)
    except ValueError:
        verdict.fail("Gói phải có đúng một thư mục gốc.", "The package must hold exactly one root folder.")
        return
    inside = {n[len(root) + 1 :]: n for n in names}
    if MANIFEST not in inside or SEAL not in inside:
        missing = MANIFEST if MANIFEST not in inside else SEAL
        verdict.fail(f"Gói thiếu {missing}.", f"The package has no {missing}.")
        return
    read = _reader(archive, inside)
    manifest_bytes = read(MANIFEST)
    try:
        manifest = parse_manifest(manifest_bytes)
    except (ValueError, UnicodeDecodeError) as e:
        verdict.fail("Tệp manifest-sha256.txt bị hỏng, không đọc được", f"manifest-sha256.txt is damaged: {e}")
        return
    _check_files(archive, inside, manifest, verdict)
    if not verdict.trust_roots:
        verdict.notes.append(
            (
                "Máy này chưa cấu hình gốc tin cậy (--trust-roots / HOSO_TRUST_ROOTS): không chữ ký nào "
                "được xác minh danh tính theo gốc; các gốc đi kèm gói (documentation/trust/) không được tin, "
                "vì người tạo gói tự chọn chúng.",
                "No trusted root is configured here (--trust-roots / HOSO_TRUST_ROOTS): no signer's identity "
                "is proven by a root; the roots the package carries (documentation/trust/) are not trusted, "
                "since whoever made the package chose them.",
            )
        )
    _check_seal(settings, manifest_bytes, read(SEAL), wanted, verdict)
    _check_signatures(settings, archive, inside, manifest, tmp, verdict)
    _check_audit(read, inside, verdict)
    present = {rel: digest for rel, digest in manifest.items() if rel in inside}
    found = package_crosscheck.cross_check(read, present)
    verdict.problems += found.problems
    verdict.notes += found.notes
    verdict.cross_checked = found.premis_checked + found.mets_checked + found.audit_checked
    described = descriptive_check.check(read, present)  # a dossier package's EAD and TT 05 records
    verdict.problems += described.problems
    verdict.cross_checked += described.checked


def _check_files(
    archive: zipfile.ZipFile, inside: dict[str, str], manifest: dict[str, str], verdict: PackageVerdict
) -> None:
    for rel in sorted(set(inside) - set(manifest) - {MANIFEST, SEAL}):
        verdict.fail(f"Tệp không có trong bảng băm: {rel}", f"File not in the manifest: {rel}")
    for rel, expected in sorted(manifest.items()):
        if rel not in inside:
            verdict.fail(f"Thiếu tệp: {rel}", f"Missing file: {rel}")
            continue
        digest = hashlib.sha256()
        try:
            with archive.open(inside[rel]) as f:
                while chunk := f.read(1024 * 1024):
                    digest.update(chunk)
        except Exception as e:  # a flipped byte breaks the CRC; a truncated file ends early
            verdict.fail(f"Tệp hỏng, không đọc được: {rel}", f"Damaged file, cannot be read: {rel} ({e})")
            continue
        if digest.hexdigest() != expected:
            verdict.fail(f"Tệp đã bị thay đổi (sai SHA-256): {rel}", f"File was altered (SHA-256 mismatch): {rel}")
        verdict.files_checked += 1


def _seal_time(report: dict[str, Any]) -> tuple[str | None, SealTime, str]:
    if report.get("timestamp_time"):
        tsa = (report.get("timestamp_signer") or {}).get("subject", "")
        kind = SealTime.timestamp if report.get("timestamp_valid") else SealTime.untrusted_timestamp
        return report["timestamp_time"], kind, tsa
    if report.get("signing_time"):
        return report["signing_time"], SealTime.claimed, ""
    return None, SealTime.unknown, ""


def _check_seal(settings: Settings, manifest: bytes, p7s: bytes, wanted: set[str], verdict: PackageVerdict) -> None:
    try:
        (report,) = validate.validate_detached(settings, io.BytesIO(manifest), p7s, online=False)
    except Exception as e:
        verdict.fail(f"Chữ ký niêm phong hỏng: {getattr(e, 'vi', e)}", f"The seal signature is damaged: {e}")
        return
    if not (report["intact"] and report["valid"]):
        verdict.fail(
            "Chữ ký niêm phong KHÔNG khớp với bảng băm: gói đã bị sửa sau khi xuất.",
            "The seal does not match the manifest: the package was altered after export.",
        )
        return
    if report.get("timestamp_intact") is False:  # a token taken from elsewhere, or altered
        verdict.fail(
            "Dấu thời gian của niêm phong bị hỏng hoặc không thuộc về niêm phong này.",
            "The seal's timestamp is broken or belongs to another signature.",
        )
    signer = report["signer"]
    if wanted:
        maker = SealMaker.fingerprint if signer["fingerprint"] in wanted else SealMaker.fingerprint_mismatch
    else:
        maker = SealMaker.trusted_root if report["trusted"] else SealMaker.unproven
    when, kind, tsa = _seal_time(report)
    verdict.seal = Seal(
        subject=signer["subject"],
        common_name=signer["common_name"],
        fingerprint=signer["fingerprint"],
        maker=maker,
        time=when,
        time_kind=kind,
        tsa=tsa,
        test_certificate=bool(report.get("test_certificate")),
    )


def _check_signatures(
    settings: Settings,
    archive: zipfile.ZipFile,
    inside: dict[str, str],
    manifest: dict[str, str],
    tmp: Path,
    verdict: PackageVerdict,
) -> None:
    data = sorted(p for p in manifest if p.startswith("representations/") and "/data/" in p and p in inside)
    for rel in data:
        if rel.endswith(".p7s"):
            continue
        path = tmp / "content"
        reports: list[dict[str, Any]] = []
        try:
            with archive.open(inside[rel]) as src, open(path, "wb") as out:
                while chunk := src.read(1024 * 1024):
                    out.write(chunk)
            if f"{rel}.p7s" in inside:
                with open(path, "rb") as content:
                    reports += validate.validate_detached(settings, content, archive.read(inside[f"{rel}.p7s"]), False)
            if _is_pdf(path):
                with open(path, "rb") as content:
                    reports += validate.validate_pdf(settings, content, online=False)
        except Exception as e:
            verdict.fail(f"Không kiểm tra được chữ ký của {rel}: {getattr(e, 'vi', e)}", f"Cannot check {rel}: {e}")
            continue
        finally:
            path.unlink(missing_ok=True)
        for report in reports:
            verdict.signatures_checked += 1
            said = validate.Verdict(report.get("verdict", validate.Verdict.unchecked))
            vi, en = str(report.get("summary_vi", said.vi)), said.en
            if not (report.get("intact") and report.get("valid")) or report.get("modified_after_signing"):
                verdict.fail(f"Chữ ký số không hợp lệ trong {rel}: {vi}", f"Invalid signature in {rel}: {en}")
            elif said.holds:
                verdict.signatures_holding += 1
                if report.get("test_certificate"):
                    verdict.notes.append((f"{rel}: {vi}", f"{rel}: {en}"))
            else:
                who = (report.get("signer") or {}).get("common_name") or "?"
                if who not in verdict.unproven_signers:
                    verdict.unproven_signers.append(who)
                verdict.notes.append((f"{rel}: {vi} ({who})", f"{rel}: {en} ({who})"))


def _is_pdf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(5) == b"%PDF-"


def _check_audit(read: Callable[[str], bytes], inside: dict[str, str], verdict: PackageVerdict) -> None:
    for rel in sorted(p for p in inside if p.startswith("documentation/audit/") and p.endswith(".json")):
        try:
            excerpt = json.loads(read(rel))
            events = excerpt["events"]
            if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
                raise TypeError("events must be a list of objects")
        except (ValueError, KeyError, TypeError) as e:
            verdict.fail(f"Trích nhật ký hỏng: {rel}", f"Damaged audit excerpt: {rel} ({e})")
            continue
        previous: dict[str, Any] | None = None
        for event in events:
            body = {k: v for k, v in event.items() if k != "hash"}
            if audit.hash_body(body) != event.get("hash"):
                verdict.fail(
                    f"Sự kiện nhật ký {event.get('seq')} trong {rel} đã bị sửa.",
                    f"Audit event {event.get('seq')} in {rel} was altered.",
                )
            seq, before = event.get("seq"), previous.get("seq") if previous else None
            if previous is not None and isinstance(seq, int) and isinstance(before, int):
                if seq <= before:
                    verdict.fail(f"Nhật ký {rel} sai thứ tự.", f"Audit excerpt {rel} is out of order.")
                elif seq == before + 1 and event.get("prev_hash") != previous.get("hash"):
                    verdict.fail(
                        f"Sự kiện {seq} không nối tiếp sự kiện trước ({rel}).",
                        f"Event {seq} does not link to the one before ({rel}).",
                    )
            elif not isinstance(seq, int):
                verdict.fail(f"Sự kiện nhật ký không có số thứ tự ({rel}).", f"An audit event has no sequence ({rel}).")
            previous = event
            verdict.audit_events_checked += 1
