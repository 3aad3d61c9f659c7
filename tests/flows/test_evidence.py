"""Evidence packages: an inspector exports a signed month; `hoso verify` and eark-validator accept it;
one changed byte anywhere, a removed file or a swapped seal is caught and named; a package rebuilt
and sealed by anyone but the archive is NOT PROVEN, whatever name its seal carries."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from archive import calendar
from archive.models import AuditEvent, Role
from flows.evidence.verify import Outcome, SealMaker, SealTime, verify
from flows.settings import Settings
from tests.api.test_cli import hoso, hoso_env
from tests.factories import World, login, mp4_bytes, person
from tests.flows.forge import forge
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.search.test_search_api import index_now, upload
from tests.signing.conftest import approve_all, sign, submit, upload_plan, wait_batch
from tests.web.test_pages_http import page_login

ROOT = Path(__file__).resolve().parents[2]
EARK_PYTHON = ROOT / ".venv-eark" / "bin" / "python"


@pytest.fixture
def settings(settings: Settings, pki: TestPKI) -> Settings:
    """The archive seals with an organisation certificate the test PKI issued, timestamped by its TSA;
    the inspector's machine trusts the test root."""
    return settings.model_copy(
        update={
            "trust_roots": str(pki.root_pem_path()),
            "tsa_url": pki.tsa_url,
            "seal_pkcs12": pki.pkcs12_file("seal"),
            "seal_password": PKCS12_PASSWORD.decode(),
        }
    )


SEAL_NAME = "Phòng GD&ĐT Huyện A — hồ sơ số"
NOT_PROVEN = ("CHƯA CHỨNG MINH / NOT PROVEN", "bất kỳ ai cũng có thể đã tạo gói này", "anyone could have made")


def published_fingerprint(client: TestClient) -> str:
    """The seal fingerprint as the inspector receives it: in their inspection grant."""
    grants = client.get("/api/v1/grants", headers=login(client, "tt.nam")).json()
    return grants[0]["seal_fingerprint"]  # type: ignore[no-any-return]


def no_roots(settings: Settings) -> dict[str, str]:
    return hoso_env(settings, HOSO_TRUST_ROOTS="")


def wait_ready(client: TestClient, headers: dict[str, str], export_id: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        export = client.get(f"/api/v1/evidence/{export_id}", headers=headers).json()
        if export["state"] in ("ready", "failed"):
            return export  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"evidence {export_id} not built in {timeout}s")


@pytest.fixture
def package(
    client: TestClient, world: World, session: Session, pki: TestPKI, tmp_path: Path, principal_certificate: None
) -> Path:
    """A school's month: three plans signed (B-LT), a recording; an inspector exports it."""
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    batch_id = ""
    for title in ("Toán 5 — Phân số", "Tiếng Việt 5 — Tập đọc", "Khoa học 5 — Nước"):
        record = upload_plan(client, lan, title, school_year="2026-2027")
        batch_id = submit(client, lan, record["id"])["batch_id"]
    approve_all(client, hoa, batch_id)
    assert sign(client, hoa, batch_id, pki.pkcs12("principal"), level="B-LT").status_code == 202
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"
    video = {
        "record_type": "lesson_recording",
        "title": "Video tiết dạy Toán 5",
        "school_year": "2026-2027",
        "month": 11,
    }
    upload(client, lan, "tiet-day.mp4", mp4_bytes(200_000), **video)
    person(session, "tt.nam", Role.inspector, None)
    grant = {
        "inspector": "tt.nam",
        "decision_number": "125/QĐ-PGDĐT",
        "school_codes": ["THA"],
        "school_years": ["2026-2027"],
        "expires_at": (calendar.now() + timedelta(days=7)).isoformat(),
    }
    assert client.post("/api/v1/grants", headers=hoa, json=grant).status_code == 201
    index_now(client)
    nam = login(client, "tt.nam")
    response = client.post(
        "/api/v1/evidence",
        headers=nam,
        json={"title": "Thanh tra tháng 11/2026 — THA", "search": {"q": "", "filters": {"month": ["11"]}}},
    )
    assert response.status_code == 202, response.text
    assert response.json()["records"] == 5  # three plans, the approval record, the recording
    export = wait_ready(client, nam, response.json()["id"])
    assert export["state"] == "ready", export
    download = client.get(export["download_url"], headers=nam)
    assert download.status_code == 200 and download.headers["x-content-sha256"] == export["sha256"]
    path = tmp_path / "evidence.zip"
    path.write_bytes(download.content)
    return path


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [n.split("/", 1)[1] for n in z.namelist()]


def test_the_package_proves_itself_offline(package: Path, settings: Settings, session: Session) -> None:
    inside = names(package)
    assert {"METS.xml", "manifest-sha256.txt", "seal.p7s", "metadata/preservation/premis.xml"} <= set(inside)
    assert "metadata/descriptive/hoso-records.xml" in inside and "documentation/bao-cao-chung-cu.html" in inside
    data = [n for n in inside if "/data/" in n]
    assert sum(n.endswith("-da-ky.pdf") for n in data) == 4  # three plans and the approval record, signed
    assert any(n.endswith(".mp4") for n in data)
    with zipfile.ZipFile(package) as z:
        root = z.namelist()[0].split("/")[0]
        report = z.read(f"{root}/documentation/bao-cao-chung-cu.html").decode()
        assert "Chữ ký hợp lệ" in report and "Nguyễn Thị Hoa" in report and "125/QĐ-PGDĐT" in report
        reports = [json.loads(z.read(f"{root}/{n}")) for n in inside if n.startswith("documentation/signatures/")]
        signed = [f for r in reports for f in r["files"] if f["kind"] == "signed"]
        assert len(signed) == 4 and all(f["signatures"][0]["level"] == "B-LT" for f in signed)
        descriptive = z.read(f"{root}/metadata/descriptive/hoso-records.xml").decode()
        assert "<hoso:fileCode>hoso-evidence-" in descriptive and "<hoso:maintenance>" in descriptive
    verdict = verify(package, settings)  # the inspector trusts the test root
    assert verdict.outcome is Outcome.valid and verdict.every_signature_holds, verdict.problems
    assert verdict.seal is not None and verdict.seal.maker is SealMaker.trusted_root
    assert verdict.seal.time_kind is SealTime.timestamp and "Hoso Test TSA" in verdict.seal.tsa
    assert verdict.signatures_checked >= 4 and verdict.audit_events_checked > 0
    assert verdict.cross_checked > 2 * len(data)  # PREMIS and METS name every file, the audit log each version
    assert not any("không được nhắc tới trong trích nhật ký" in vi for vi, _ in verdict.notes), verdict.notes
    bare = verify(package, settings.model_copy(update={"trust_roots": ""}))  # the roots it carries do not count
    assert bare.intact and bare.outcome is Outcome.not_proven and not bare.every_signature_holds
    assert bare.unproven_signers == ["Nguyễn Thị Hoa"]
    session.commit()
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("evidence.%"))))
    assert actions == {"evidence.requested", "evidence.built", "evidence.downloaded"}


def test_hoso_verify_from_the_command_line(package: Path, settings: Settings, client: TestClient, pki: TestPKI) -> None:
    fingerprint = published_fingerprint(client)
    ok = hoso(settings, "verify", str(package), env=hoso_env(settings))  # HOSO_TRUST_ROOTS: the test root
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "HỢP LỆ / VALID" in ok.stdout and "mọi chữ ký đúng" in ok.stdout and "every signature holds" in ok.stdout
    assert hashlib.sha256(package.read_bytes()).hexdigest() in ok.stdout  # the package's SHA-256
    shown = [line for line in ok.stdout.splitlines() if "SHA-256" in line]
    assert SEAL_NAME in ok.stdout and fingerprint in ok.stdout, f"published {fingerprint}; verify printed {shown}"
    assert "dấu thời gian RFC 3161 của Common Name: Hoso Test TSA" in ok.stdout  # the seal time, proven
    flag = hoso(settings, "verify", "--trust-roots", str(pki.root_pem_path()), str(package), env=no_roots(settings))
    assert flag.returncode == 0 and "mọi chữ ký đúng" in flag.stdout, flag.stdout + flag.stderr
    plain_hex = fingerprint.replace(":", "").lower()  # either form is accepted
    by_fingerprint = hoso(settings, "verify", "--seal-fingerprint", plain_hex, str(package), env=no_roots(settings))
    out = by_fingerprint.stdout
    assert by_fingerprint.returncode == 0, out + by_fingerprint.stderr
    assert "HỢP LỆ / VALID" in out and "trùng dấu vân tay bạn đưa" in out
    # no root here: what holds is said exactly, never "every signature holds"
    assert "toàn vẹn: có" in out and "integrity: yes" in out and "identity is unproven" in out
    assert "mọi chữ ký đúng" not in out and "every signature holds" not in out
    unproven = hoso(settings, "verify", str(package), env=no_roots(settings))
    assert unproven.returncode == 1 and all(w in unproven.stderr for w in NOT_PROVEN), unproven.stderr
    missing = hoso(settings, "verify", str(package.with_name("khong-co.zip")), env=hoso_env(settings))
    assert missing.returncode != 0


def test_a_forged_package_is_not_proven(package: Path, settings: Settings, client: TestClient, tmp_path: Path) -> None:
    """Swap a signed PDF, edit the report, rebuild with hoso's writer, self-seal under the archive's name."""
    genuine = published_fingerprint(client)
    forged, _victim = forge(package, tmp_path / "forged.zip", settings)
    verdict = verify(forged, settings)
    assert verdict.intact, verdict.problems  # perfectly consistent: only the seal's maker gives it away
    assert verdict.seal is not None and SEAL_NAME in verdict.seal.subject and verdict.seal.fingerprint != genuine
    assert verdict.outcome is Outcome.not_proven and verdict.seal.maker is SealMaker.unproven
    for env in (hoso_env(settings), no_roots(settings)):  # with the trust roots, and trusting the roots it carries
        result = hoso(settings, "verify", str(forged), env=env)
        said = result.stdout + result.stderr
        assert result.returncode == 1 and all(w in said for w in NOT_PROVEN), said
        assert "HỢP LỆ / VALID" not in said and "Traceback" not in said
    compared = hoso(settings, "verify", "--seal-fingerprint", genuine, "--allow-unproven-seal", str(forged))
    assert compared.returncode == 1 and "KHÔNG trùng dấu vân tay bạn đưa" in compared.stdout, compared.stdout
    # nor can a genuine seal's time be changed: a timestamp token taken from another seal is refused
    borrowed = with_seal(package, tmp_path / "borrowed.zip", timestamp_from=forged)
    said = verify(borrowed, settings).problems
    assert any("Dấu thời gian của niêm phong bị hỏng" in vi for vi, _ in said), said


def with_seal(package: Path, target: Path, timestamp_from: Path) -> Path:
    """The package with its seal's RFC 3161 token replaced by the one on another package's seal."""
    from asn1crypto import cms

    def seal_of(path: Path) -> tuple[zipfile.ZipInfo, bytes]:
        with zipfile.ZipFile(path) as z:
            info = next(i for i in z.infolist() if i.filename.endswith("/seal.p7s"))
            return info, z.read(info)

    info, ours = seal_of(package)
    signed = cms.ContentInfo.load(ours)
    other = cms.ContentInfo.load(seal_of(timestamp_from)[1])
    signed["content"]["signer_infos"][0]["unsigned_attrs"] = other["content"]["signer_infos"][0]["unsigned_attrs"]
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(target, "w") as out:
        for member in src.infolist():
            out.writestr(member, signed.dump(force=True) if member.filename == info.filename else src.read(member))
    return target


def test_a_rebuilt_package_must_agree_with_its_own_metadata(package: Path, settings: Settings, tmp_path: Path) -> None:
    """A forger who rewrites the manifest but leaves the audit excerpt or PREMIS as they were is caught
    by the file, even by someone fooled into trusting the forger's own seal."""
    for stale, words in (("audit", "nhật ký kiểm toán"), ("premis", "PREMIS")):
        forged, victim = forge(package, tmp_path / f"forged-{stale}.zip", settings, stale=stale)
        first = verify(forged, settings)
        assert first.seal is not None
        verdict = verify(forged, settings, [first.seal.fingerprint])
        assert verdict.outcome is Outcome.invalid
        assert any(victim in vi and words in vi for vi, _ in verdict.problems), (stale, verdict.problems)


@pytest.fixture
def self_sealed(client: TestClient, world: World, settings: Settings, tmp_path: Path) -> Path:
    """A principal exports one plan from an archive in its default set-up: a self-signed seal, no TSA."""
    settings.seal_pkcs12, settings.seal_password, settings.tsa_url = None, None, None
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    record = upload_plan(client, lan, "Toán 5 — Phân số")
    response = client.post("/api/v1/evidence", headers=hoa, json={"title": "Tự kiểm tra", "record_ids": [record["id"]]})
    assert response.status_code == 202, response.text
    export = wait_ready(client, hoa, response.json()["id"])
    assert export["state"] == "ready", export
    path = tmp_path / "tu-niem-phong.zip"
    path.write_bytes(client.get(export["download_url"], headers=hoa).content)
    return path


def test_a_self_signed_seal_is_proven_by_the_published_fingerprint(
    self_sealed: Path, settings: Settings, client: TestClient
) -> None:
    page_login(client, "ht.hoa")
    page = client.get("/goi-chung-cu").text
    client.cookies.clear()
    shown = re.search(r'class="mono seal-fingerprint">([0-9A-F:]{95})<', page)
    assert shown is not None
    proven = hoso(settings, "verify", "--seal-fingerprint", shown.group(1), str(self_sealed), env=no_roots(settings))
    assert proven.returncode == 0 and "HỢP LỆ / VALID" in proven.stdout, proven.stdout + proven.stderr
    assert "tự khai, CHƯA được chứng minh" in proven.stdout and "claimed signing time, UNPROVEN" in proven.stdout
    plain = hoso(settings, "verify", str(self_sealed), env=no_roots(settings))
    assert plain.returncode == 1 and all(w in plain.stderr for w in NOT_PROVEN)
    allowed = hoso(settings, "verify", "--allow-unproven-seal", str(self_sealed), env=no_roots(settings))
    assert allowed.returncode == 0 and "CẢNH BÁO / WARNING" in allowed.stdout and NOT_PROVEN[0] in allowed.stdout


def _changed(package: Path, target: Path, name: str, content: bytes | None = None) -> Path:
    """The package with one member left out (`content` None) or replaced, written by a plain ZIP tool."""
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            rel = info.filename.split("/", 1)[1]
            if rel.startswith(name):
                if content is not None:
                    out.writestr(info, content)
                continue
            out.writestr(info, src.read(info))
    return target


def test_no_traceback_for_any_broken_package(self_sealed: Path, settings: Settings, tmp_path: Path) -> None:
    data = self_sealed.read_bytes()
    cases = {
        "garbage.zip": os.urandom(5000),
        "empty.zip": b"",
        "truncated.zip": data[: len(data) // 2],
        "cut-in-the-directory.zip": data[:-30],
        "not-a-package.zip": _zip_of({"a.txt": b"xin chao"}),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    paths = [tmp_path / n for n in cases]
    paths += [_changed(self_sealed, tmp_path / f"no-{n}.zip", n) for n in ("METS.xml", "manifest-sha256.txt")]
    for n, (member, content) in enumerate(
        [
            ("documentation/audit/", b'{"events": [1]}'),  # events that are not events
            ("documentation/audit/", b'{"events": [{"seq": "a"}, {"seq": 1}]}'),
            ("documentation/audit/", b"[]"),
            ("seal.p7s", os.urandom(300)),
            ("metadata/preservation/premis.xml", b"<premis:premis xmlns:premis="),
            ("manifest-sha256.txt", "\u00ff\n".encode("latin-1")),
        ]
    ):
        paths.append(_changed(self_sealed, tmp_path / f"changed-{n}.zip", member, content))
    for path in paths:  # in this process (an uncaught exception would be kept, not lost), and as a command
        result = CliRunner().invoke(app, ["verify", str(path)], env=no_roots(settings))
        assert result.exception is None or isinstance(result.exception, SystemExit), (path.name, result.exc_info)
        assert result.exit_code == 1 and "KHÔNG HỢP LỆ / INVALID" in result.stderr, (path.name, result.output)
        assert "Traceback" not in result.output, (path.name, result.output)
    for path in (tmp_path / "garbage.zip", tmp_path / "changed-0.zip"):  # garbage; events that are not events
        command = hoso(settings, "verify", str(path), env=no_roots(settings))
        said = command.stdout + command.stderr
        assert command.returncode == 1 and "KHÔNG HỢP LỆ / INVALID" in said and "Traceback" not in said, said
    bad_fingerprint = hoso(settings, "verify", "--seal-fingerprint", "AB:CD", str(self_sealed))
    assert bad_fingerprint.returncode == 2 and "Dấu vân tay không hợp lệ" in bad_fingerprint.stderr
    bad_roots = hoso(settings, "verify", "--trust-roots", str(tmp_path / "khong-co.pem"), str(self_sealed))
    assert bad_roots.returncode == 1 and "Không đọc được chứng thư gốc" in bad_roots.stderr
    assert "Traceback" not in bad_fingerprint.stderr + bad_roots.stderr


def _zip_of(files: dict[str, bytes]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buffer.getvalue()


def test_eark_validator_accepts_the_package(package: Path) -> None:
    if not EARK_PYTHON.exists():
        message = "eark-validator's environment is missing (make test creates .venv-eark)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [str(EARK_PYTHON), str(ROOT / "tests" / "tools" / "eark_validate.py"), str(package)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["structure"] == "WellFormed"


def flipped(package: Path, offset: int, target: Path) -> Path:
    data = bytearray(package.read_bytes())
    data[offset] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def test_one_changed_byte_anywhere_fails(package: Path, settings: Settings, tmp_path: Path) -> None:
    size = package.stat().st_size
    plain = settings.model_copy(update={"trust_roots": ""})
    with zipfile.ZipFile(package) as z:
        starts = [i.header_offset for i in z.infolist()]
    # every local header, bytes inside headers, the central directory, the end record, and data spread out
    spread = range(0, size, max(1, size // 40))
    offsets = sorted({*starts, *(s + 14 for s in starts), *(s + 40 for s in starts), size - 1, size - 10, *spread})
    for offset in offsets:
        verdict = verify(flipped(package, offset, tmp_path / "changed.zip"), plain)
        assert not verdict.intact, f"a byte changed at offset {offset} of {size} went unnoticed"


def rewrite(package: Path, target: Path, change: str) -> Path:
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            rel = info.filename.split("/", 1)[1]
            if change == "remove" and rel.endswith(".mp4"):
                continue
            if change == "edit-report" and rel == "documentation/bao-cao-chung-cu.html":
                data = data.replace("Chữ ký hợp lệ".encode(), "Chữ ký hợp lệ!".encode(), 1)
            out.writestr(info, data)
    return target


@pytest.mark.parametrize(("change", "words"), [("remove", "Thiếu tệp"), ("edit-report", "sai SHA-256")])
def test_removed_or_edited_files_are_named(
    package: Path, settings: Settings, tmp_path: Path, change: str, words: str
) -> None:
    verdict = verify(rewrite(package, tmp_path / "changed.zip", change), settings)
    assert verdict.outcome is Outcome.invalid
    assert any(words in vi for vi, _ in verdict.problems), verdict.problems


def test_a_swapped_seal_is_caught(package: Path, settings: Settings, tmp_path: Path) -> None:
    """The seal of another package (a valid signature, over another manifest) does not fit this one."""
    other = tmp_path / "other.zip"
    shutil.copy(package, other)
    with zipfile.ZipFile(package) as z:
        root = z.namelist()[0].split("/")[0]
        manifest = z.read(f"{root}/manifest-sha256.txt")
    from signing import seal

    key, _ = seal.load(settings)
    try:
        foreign = seal.seal(settings, key, manifest + b"0" * 64 + b"  extra.txt\n")
    finally:
        key.close()
    target = tmp_path / "swapped.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            out.writestr(info, foreign if info.filename.endswith("/seal.p7s") else src.read(info))
    verdict = verify(target, settings)
    assert any("niêm phong" in vi.lower() for vi, _ in verdict.problems), verdict.problems


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"title": "x", "record_ids": []}, 422, "ít nhất một hồ sơ"),
        ({"title": "x", "search": {"q": "khong co gi het"}}, 422, "ít nhất một hồ sơ"),
        ({"title": "x", "search": {"q": "", "filters": {"password": ["1"]}}}, 422, "Không lọc được"),
        ({"title": "", "record_ids": ["x"]}, 422, ""),
        ({"title": "x", "record_ids": ["00000000-0000-0000-0000-000000000000"]}, 404, "Không tìm thấy"),
    ],
)
def test_bad_evidence_requests(client: TestClient, world: World, body: dict, status: int, words: str) -> None:  # type: ignore[type-arg]
    response = client.post("/api/v1/evidence", headers=login(client, "ht.hoa"), json=body)
    assert response.status_code == status, response.text
    if words:
        assert words in response.json()["message"]


def test_size_and_count_limits(client: TestClient, world: World, settings: Settings) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    ids = [upload_plan(client, lan, f"Kế hoạch {i}")["id"] for i in range(3)]
    settings.evidence_max_records = 2
    too_many = client.post("/api/v1/evidence", headers=hoa, json={"title": "x", "record_ids": ids})
    assert too_many.status_code == 422 and "tối đa 2 hồ sơ" in too_many.json()["message"]
    settings.evidence_max_records, settings.evidence_max_bytes = 100, 1000
    too_big = client.post("/api/v1/evidence", headers=hoa, json={"title": "x", "record_ids": ids})
    assert too_big.status_code == 422 and "quá lớn" in too_big.json()["message"]


def test_an_inspector_cannot_export_or_download_outside_the_grant(
    client: TestClient, world: World, session: Session
) -> None:
    person(session, "tt.nam", Role.inspector, None)
    binh = login(client, "gv.binh")
    other = upload_plan(client, binh, "Trường khác", school_code="THB")["id"]
    nam = login(client, "tt.nam")
    response = client.post("/api/v1/evidence", headers=nam, json={"title": "x", "record_ids": [other]})
    assert response.status_code == 403
    someone_else = client.get("/api/v1/evidence/00000000-0000-0000-0000-000000000000/download", headers=nam)
    assert someone_else.status_code == 404
