"""A 1 GiB recording through the resumable upload, beside `cp` + `sync` of the same file (issue #17).

The server is a real `hoso serve` (folder store and SQLite on the same disk as the copy, no worker:
the recording's renditions would otherwise start on the file as soon as it is stored). The client
sends the file as the upload page does (api/web/static/upload.js): chunks that start at 1 MiB and
grow with the measured speed toward ~7 s each, at most 4× a step, between 1 and 32 MiB, each a
PATCH at the server's offset; the last one commits the record. Measured: the wall time from the
upload's creation to the record's acknowledgement, and the server's peak RSS (VmHWM).

Baseline: `cp` of the same file to the same disk, then `sync` (what a byte on disk costs without
hoso). Goals: ≥ 0.5× the baseline's throughput, server peak RSS ≤ 128 MB.

    .venv/bin/python bench/upload.py            # --mib 1024
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

import migrations as migrate  # noqa: E402
from archive import calendar, seed, service  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.models import Role  # noqa: E402
from archive.schemas import MembershipCreate, PersonCreate, SchoolCreate  # noqa: E402
from tests.factories import _tiny_mp4  # noqa: E402

MiB = 1024 * 1024
PASSWORD = "mat-khau-bench-2026"


def recording(path: Path, size: int) -> None:
    """A real MP4 padded to `size` with one `free` box, written without holding it in memory."""
    tiny = _tiny_mp4()
    pad = size - len(tiny)
    block = b"\x00" * MiB
    with open(path, "wb") as f:
        f.write(tiny + pad.to_bytes(4, "big") + b"free")
        left = pad - 8
        while left:
            f.write(block[: min(left, MiB)])
            left -= min(left, MiB)


def next_chunk(previous: int, sent: int, seconds: float) -> int:
    """upload.js's `nextChunk`: ~7 s a chunk at the measured speed, 256 KiB steps, 1–32 MiB, ≤ 4×."""
    wanted = round(sent / max(seconds, 0.05) * 7 / (256 * 1024)) * 256 * 1024
    return min(32 * MiB, 4 * previous, max(MiB, wanted))


def baseline(source: Path, folder: Path) -> float:
    target = folder / "copy.mp4"
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    subprocess.run(["sync"], check=True)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def serve(folder: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    url = f"sqlite:///{folder / 'hoso.db'}"
    migrate.upgrade(url)
    with make_sessionmaker(make_engine(url))() as session:
        seed.seed_record_types(session)
        service.create_school(session, None, SchoolCreate(code="THA", name="Trường Tiểu học An Bình"))
        who = PersonCreate(username="gv.lan", full_name="Lan", password=PASSWORD)
        teacher = service.create_person(session, None, who)
        service.add_membership(session, None, teacher, MembershipCreate(role=Role.teacher, school_code="THA"))
        session.commit()
    env = {
        **os.environ,
        "HOSO_DATA_DIR": str(folder / "data"),
        "HOSO_DATABASE_URL": url,
        "HOSO_SECRET_KEY": "bench-upload-" + "x" * 32,
        "HOSO_MAX_UPLOAD_BYTES": str(3 * 1024**3),
        "HOSO_RETENTION_SWEEP_HOURS": "0",
    }
    port = free_port()
    log = (folder / "serve.log").open("ab")
    command = [sys.executable, "-m", "api.cli", "serve", "--no-worker", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "gv.lan", "password": PASSWORD}).json()
    return proc, base, {"Authorization": f"Bearer {token['access_token']}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def upload(base: str, headers: dict[str, str], source: Path) -> tuple[float, list[int], float]:
    size = source.stat().st_size
    metadata = {
        "school_code": "THA",
        "record_type": "lesson_recording",
        "title": "Tiết dạy 1 GB",
        "school_year": calendar.current_school_year(),  # any day the bench runs: this year's recording
    }
    chunks: list[int] = []
    with httpx.Client(timeout=600) as http, open(source, "rb") as f:
        started = time.perf_counter()
        made = http.post(
            f"{base}/api/v1/uploads", headers=headers, json={"metadata": metadata, "filename": "tiet.mp4", "size": size}
        )
        assert made.status_code == 201, made.text
        upload_id, offset, chunk = made.json()["id"], 0, MiB
        while offset < size:
            body = f.read(min(chunk, size - offset))
            t0 = time.perf_counter()
            answer = http.patch(
                f"{base}/api/v1/uploads/{upload_id}",
                headers={
                    **headers,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
                content=body,
            )
            assert answer.status_code == 200, answer.text
            chunks.append(len(body))
            offset = answer.json()["offset"]
            last = time.perf_counter() - t0
            chunk = next_chunk(chunk, len(body), last)
        assert answer.json()["state"] == "done" and answer.json()["record_id"], answer.text
        return time.perf_counter() - started, chunks, last


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the recording")
    parser.add_argument("--dir", type=Path, default=None, help="a folder on the disk to measure (default: TMPDIR)")
    args = parser.parse_args()
    size = args.mib * MiB
    with tempfile.TemporaryDirectory(prefix="hoso-upload-", dir=args.dir) as tmp:
        folder = Path(tmp)
        source = folder / "tiet.mp4"
        recording(source, size)
        subprocess.run(["sync"], check=True)
        cp_seconds = baseline(source, folder)
        proc, base, headers = serve(folder)
        try:
            idle = peak_rss_mb(proc.pid)
            seconds, chunks, last = upload(base, headers, source)
            peak = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(folder / "data", ignore_errors=True)
    mb = size / 1e6
    print(f"Resumable upload of {args.mib} MiB ({len(chunks)} chunks, largest {max(chunks) // MiB} MiB)")
    print(f"  cp + sync, same disk            {mb / cp_seconds:8.1f} MB/s  ({cp_seconds:.1f} s)")
    print(f"  hoso resumable upload           {mb / seconds:8.1f} MB/s  ({seconds:.1f} s; the last chunk, which")
    print(f"    commits the record, {last:.2f} s for {chunks[-1] // MiB} MiB)")
    print(f"  ratio  {cp_seconds / seconds:.2f}  (goal ≥ 0.50)")
    print(f"  server RSS: idle {idle:.0f} MB, peak {peak:.0f} MB  (goal ≤ 128 MB)")


if __name__ == "__main__":
    main()
