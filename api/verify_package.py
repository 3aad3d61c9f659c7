"""`hoso verify PACKAGE.zip`: an evidence package checked offline, with no server and no database.

What is checked, in order, each failure named:
1. every file listed in `manifest-sha256.txt` is present and hashes to its line; nothing unlisted;
2. `seal.p7s` is a valid signature over the manifest (who sealed it, when, trusted or not);
3. every PDF's embedded signatures and every detached `.p7s` are intact and valid, and no PDF was
   modified after signing (revocation data embedded at B-LT is used; nothing is fetched);
4. each audit excerpt re-computes: every event's hash from its content, consecutive events link;
5. the ZIP container itself is exactly as hoso writes it (`archive.zipcheck`), so no header byte
   can change unnoticed either.

Trust is decided against `HOSO_TRUST_ROOTS` when set on this machine; otherwise against the roots
the package carries (`documentation/trust/`), which the verdict says plainly.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from archive import audit, zipcheck
from archive.package import MANIFEST, SEAL, parse_manifest
from archive.settings import Settings
from signing import validate

GOOD = ("Chữ ký hợp lệ", "Dấu thời gian tài liệu hợp lệ")


@dataclass
class Verdict:
    files_checked: int = 0
    signatures_checked: int = 0
    audit_events_checked: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (vi, en)
    notes: list[tuple[str, str]] = field(default_factory=list)
    seal: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, vi: str, en: str) -> None:
        self.problems.append((vi, en))


def _root(names: list[str]) -> str:
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) != 1:
        raise ValueError("the package must hold exactly one root folder")
    return tops.pop()


def verify(path: Path, settings: Settings | None = None) -> Verdict:
    verdict = Verdict()
    for problem in zipcheck.check(path):
        verdict.fail(f"Cấu trúc ZIP đã bị thay đổi: {problem}", f"The ZIP container was altered: {problem}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        verdict.fail(f"Không mở được gói (không phải ZIP hợp lệ): {e}", f"Cannot open the package (not a ZIP): {e}")
        return verdict
    with archive, tempfile.TemporaryDirectory(prefix="hoso-verify-") as tmp:
        try:
            _verify_open(archive, settings, Path(tmp), verdict)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError, ValueError) as e:
            verdict.fail(f"Gói hỏng, không đọc được: {e}", f"The package is damaged and cannot be read: {e}")
    return verdict


def _verify_open(archive: zipfile.ZipFile, settings: Settings | None, tmp: Path, verdict: Verdict) -> None:
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
    manifest_bytes = archive.read(inside[MANIFEST])
    try:
        manifest = parse_manifest(manifest_bytes)
    except (ValueError, UnicodeDecodeError) as e:
        verdict.fail(f"manifest-sha256.txt hỏng: {e}", f"manifest-sha256.txt is damaged: {e}")
        return
    _check_files(archive, root, inside, manifest, verdict)
    settings = _settings_for(settings, archive, inside, tmp, verdict)
    _check_seal(settings, manifest_bytes, archive.read(inside[SEAL]), verdict)
    _check_signatures(settings, archive, inside, manifest, tmp, verdict)
    _check_audit(archive, inside, verdict)


def _check_files(
    archive: zipfile.ZipFile, root: str, inside: dict[str, str], manifest: dict[str, str], verdict: Verdict
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
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:  # a flipped byte breaks the CRC
            verdict.fail(f"Tệp hỏng, không đọc được: {rel} ({e})", f"Damaged file, cannot be read: {rel} ({e})")
            continue
        if digest.hexdigest() != expected:
            verdict.fail(f"Tệp đã bị thay đổi (sai SHA-256): {rel}", f"File was altered (SHA-256 mismatch): {rel}")
        verdict.files_checked += 1


def _settings_for(
    settings: Settings | None, archive: zipfile.ZipFile, inside: dict[str, str], tmp: Path, verdict: Verdict
) -> Settings:
    settings = settings or Settings(data_dir=tmp / "data")
    if settings.trust_roots:
        verdict.notes.append(
            ("Tin cậy theo gốc đã cấu hình (HOSO_TRUST_ROOTS).", "Trust per the configured roots (HOSO_TRUST_ROOTS).")
        )
        return settings
    roots = tmp / "roots"
    roots.mkdir()
    for rel, name in inside.items():
        if rel.startswith("documentation/trust/") and rel.endswith(".pem"):
            (roots / PurePosixPath(rel).name).write_bytes(archive.read(name))
    verdict.notes.append(
        (
            "Chưa cấu hình HOSO_TRUST_ROOTS: tin cậy theo các gốc đi kèm gói (documentation/trust/).",
            "HOSO_TRUST_ROOTS is not set: trust per the roots the package carries (documentation/trust/).",
        )
    )
    return settings.model_copy(update={"trust_roots": str(roots) if any(roots.iterdir()) else ""})


def _check_seal(settings: Settings, manifest: bytes, p7s: bytes, verdict: Verdict) -> None:
    try:
        (report,) = validate.validate_detached(settings, io.BytesIO(manifest), p7s, online=False)
    except Exception as e:
        verdict.fail(f"Chữ ký niêm phong hỏng: {getattr(e, 'vi', e)}", f"The seal signature is damaged: {e}")
        return
    verdict.seal = report
    if not (report["intact"] and report["valid"]):
        verdict.fail(
            "Chữ ký niêm phong KHÔNG khớp với bảng băm: gói đã bị sửa sau khi xuất.",
            "The seal does not match the manifest: the package was altered after export.",
        )
    elif not report["trusted"]:
        verdict.notes.append(
            (
                f"Niêm phong đúng, nhưng chứng thư của người niêm phong ({report['signer']['common_name']}) "
                "không dẫn tới gốc tin cậy.",
                f"The seal is intact, but the sealer's certificate ({report['signer']['common_name']}) "
                "does not chain to a trusted root.",
            )
        )


def _check_signatures(
    settings: Settings,
    archive: zipfile.ZipFile,
    inside: dict[str, str],
    manifest: dict[str, str],
    tmp: Path,
    verdict: Verdict,
) -> None:
    data = sorted(p for p in manifest if p.startswith("representations/") and "/data/" in p and p in inside)
    for rel in data:
        if rel.endswith(".p7s"):
            continue
        path = tmp / "content"
        with archive.open(inside[rel]) as src, open(path, "wb") as out:
            while chunk := src.read(1024 * 1024):
                out.write(chunk)
        reports: list[dict[str, Any]] = []
        try:
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
            if not (report.get("intact") and report.get("valid")) or report.get("modified_after_signing"):
                verdict.fail(
                    f"Chữ ký số không hợp lệ trong {rel}: {report.get('summary_vi')}",
                    f"Invalid signature in {rel}: {report.get('summary_vi')}",
                )
            elif report.get("summary_vi") not in GOOD:
                verdict.notes.append((f"{rel}: {report.get('summary_vi')}", f"{rel}: see the Vietnamese note"))


def _is_pdf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(5) == b"%PDF-"


def _check_audit(archive: zipfile.ZipFile, inside: dict[str, str], verdict: Verdict) -> None:
    for rel in sorted(p for p in inside if p.startswith("documentation/audit/") and p.endswith(".json")):
        try:
            excerpt = json.loads(archive.read(inside[rel]))
            events = excerpt["events"]
        except (ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
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
            if previous is not None:
                if event["seq"] <= previous["seq"]:
                    verdict.fail(f"Nhật ký {rel} sai thứ tự.", f"Audit excerpt {rel} is out of order.")
                elif event["seq"] == previous["seq"] + 1 and event["prev_hash"] != previous["hash"]:
                    verdict.fail(
                        f"Sự kiện {event['seq']} không nối tiếp sự kiện trước ({rel}).",
                        f"Event {event['seq']} does not link to the one before ({rel}).",
                    )
            previous = event
            verdict.audit_events_checked += 1
