"""A recording's streaming copy: hoso's rendition job beside the same `ffmpeg` command run by hand.

One synthesized lesson recording (1280×720, 25 frames/s, with grain so the encoder has real work,
~3 Mbit/s, a tone for sound) is made into its light copy twice, on the same input:

- baseline: `flows.renditions.ffmpeg.stream_command` — the very argument list the job runs — by
  hand on the file, as an administrator would type it;
- hoso: the recording uploaded through `archive.ingest` (untimed: that probes it and queues its
  poster and stream jobs), the poster job run (untimed), then the stream job timed — claim, copy the
  original out of the store with its hash checked, ffmpeg, identify and probe the copy, store it
  and commit it as a derived version with its sidecar and audit event.

Each side runs `--repeat` times alternately; the best of each is kept (the machine is shared).
Printed as seconds of video per second of work. Goal (issue #16): hoso ≥ 90% of the raw tool.

    .venv/bin/python bench/video.py            # --seconds 20 --repeat 2
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import migrations as migrate  # noqa: E402
from archive import ingest, seed, service  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.models import Person, Rendition, RenditionState, Role  # noqa: E402
from archive.schemas import MembershipCreate, PersonCreate, RecordCreate, SchoolCreate  # noqa: E402
from archive.spool import spool_stream  # noqa: E402
from archive.storage import make_store  # noqa: E402
from flows.indexing import Describer  # noqa: E402
from flows.renditions import ffmpeg, recording  # noqa: E402
from flows.settings import Settings  # noqa: E402
from flows.state import AppState  # noqa: E402
from search.engine import open_engine  # noqa: E402


def synthesize(out: Path, seconds: int) -> None:
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-y"),
            *("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25,noise=alls=12:allf=t"),
            *("-f", "lavfi", "-i", "sine=frequency=440", "-t", str(seconds)),
            *("-c:v", "libx264", "-preset", "ultrafast", "-b:v", "3000k", "-pix_fmt", "yuv420p", "-c:a", "aac"),
            str(out),
        ],
        check=True,
    )


def by_hand(source: Path, out: Path) -> float:
    start = time.perf_counter()
    ffmpeg.run(ffmpeg.stream_command(source, out), 3600, threading.Event(), out.with_suffix(".log"))
    elapsed = time.perf_counter() - start
    assert out.stat().st_size > 0
    return elapsed


def hoso_job(data: Path, source: Path) -> float:
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data, secret_key="bench-" + "x" * 40)
    migrate.upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    store = make_store(settings)
    with sessions() as session:
        seed.seed_record_types(session)
        service.create_school(session, None, SchoolCreate(code="BENCH", name="Trường thử"))
        teacher = service.create_person(
            session, None, PersonCreate(username="gv.bench", full_name="GV", password="mat-khau-dai-123")
        )
        service.add_membership(session, None, teacher, MembershipCreate(role=Role.teacher, school_code="BENCH"))
        meta = RecordCreate(
            school_code="BENCH", record_type="lesson_recording", title="Tiết dạy", school_year="2025-2026"
        )
        actor = session.get(Person, teacher.id)
        assert actor is not None
        prepared = ingest.prepare_record(session, actor, meta)
        with open(source, "rb") as f, spool_stream(f, settings.tmp_dir, settings.max_upload_bytes) as spool:
            ingest.create_record(session, store, actor, prepared, spool.finish(), "tiet-day.mp4")
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        search=open_engine(settings.search_engine, settings.data_dir),
        describe=Describer(store, settings),
    )
    ffmpeg.version()  # asked once per process, as the worker does
    assert recording.run_one(state, "bench") == 1  # the poster, queued first: not timed
    start = time.perf_counter()
    assert recording.run_one(state, "bench") == 1
    elapsed = time.perf_counter() - start
    with sessions() as session:
        states = {r.target: r.state for r in session.query(Rendition)}
    assert states == {"poster": RenditionState.done, "stream": RenditionState.done}, states
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20, help="length of the synthesized recording")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hoso-bench-video-"))
    try:
        source = work / "tiet-day.mp4"
        synthesize(source, args.seconds)
        raw, job = [], []
        for i in range(args.repeat):
            raw.append(by_hand(source, work / f"hand-{i}.mp4"))
            job.append(hoso_job(work / f"hoso-{i}", source))
        raw_rate, job_rate = args.seconds / min(raw), args.seconds / min(job)
        size = source.stat().st_size / 1e6
        print(
            f"Video → streaming copy  {args.seconds} s of 1280×720 ({size:.1f} MB), {ffmpeg.version()}\n"
            f"  ffmpeg by hand (the same command)   {raw_rate:6.2f} s of video/s\n"
            f"  hoso stream rendition job           {job_rate:6.2f} s of video/s\n"
            f"  ratio {job_rate / raw_rate:5.2f}  (goal ≥ 0.90)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
