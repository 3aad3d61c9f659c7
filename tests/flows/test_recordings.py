"""Recordings: ffprobe facts kept with the version and checked against TT 05/2025; a poster and a
light streaming copy made beside the original, never over it; the player plays the copy with Range
requests and the original on request; bad files are refused with nothing stored.

Videos are synthesized by ffmpeg (two seconds each); the worker's own step (`run_one`) is called
by the tests, so nothing waits on a background thread."""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import calendar, media_facts
from archive.media_models import MediaFacts
from archive.models import Blob, Job, Record, Rendition, RenditionState, Version
from archive.renditions import MAX_ATTEMPTS, VIDEO_JOB
from flows.renditions import recording
from flows.settings import Settings
from tests.conftest import require_tool
from tests.factories import World, login, meta
from tests.search.test_search_api import upload
from tests.web.test_pages_http import page_login

LESSON = {"record_type": "lesson_recording", "title": "Video tiết dạy Toán 5A", "class_name": "5A"}


def synthesize(out: Path, kbps: int = 2500, size: str = "640x360", video: bool = True, audio: bool = True) -> bytes:
    """Two seconds of test picture (with noise, so the encoder really spends `kbps`) and a tone."""
    ffmpeg = require_tool("ffmpeg")
    inputs = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate=25,noise=alls=30:allf=t"] if video else []
    inputs += ["-f", "lavfi", "-i", "sine=frequency=440"] if audio else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", f"{kbps}k", "-pix_fmt", "yuv420p"] if video else []
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", *inputs, "-t", "2", *codecs, *(["-c:a", "aac"] if audio else []), str(out)],
        check=True,
        timeout=120,
    )
    return out.read_bytes()


def run_all(client: TestClient) -> int:
    state = client.app.state.hoso  # type: ignore[attr-defined]
    taken = 0
    while recording.run_one(state, "test-worker"):
        taken += 1
        assert taken < 10
    return taken


@pytest.fixture
def settings(settings: Settings) -> Settings:
    require_tool("ffprobe")
    return settings


def test_a_recording_plays_its_streaming_copy_with_range_and_its_original_stays_as_it_was(
    client: TestClient, world: World, session: Session, tmp_path: Path
) -> None:
    original = synthesize(tmp_path / "tiet-day.mp4")
    lan = login(client, "gv.lan")
    record_id = upload(client, lan, "tiet-day.mp4", original, **LESSON)
    session.commit()
    facts = session.get(MediaFacts, (record_id, 1))
    assert facts is not None and (facts.container, facts.video_codec, facts.audio_codec) == ("MPEG-4", "h264", "aac")
    assert (facts.width, facts.height) == (640, 360) and facts.duration_seconds == pytest.approx(2, abs=0.1)
    assert facts.bitrate_kbps is not None and facts.bitrate_kbps >= 1500

    assert run_all(client) == 2  # the poster, then the streaming copy
    session.commit()
    made = {r.target: r for r in session.scalars(select(Rendition).where(Rendition.record_id == record_id))}
    assert {t: r.state for t, r in made.items()} == {"poster": RenditionState.done, "stream": RenditionState.done}
    assert made["stream"].tool and made["stream"].tool.startswith("FFmpeg ")
    versions = {v.number: v for v in session.scalars(select(Version).where(Version.record_id == record_id))}
    poster, stream = versions[made["poster"].version_number or 0], versions[made["stream"].version_number or 0]
    assert (poster.media_type, poster.kind, poster.derived_from) == ("image/jpeg", "derived", 1)
    assert (stream.media_type, stream.kind, stream.derived_from) == ("video/mp4", "derived", 1)
    light = session.get(MediaFacts, (record_id, stream.number))
    assert light is not None and (light.video_codec, light.audio_codec) == ("h264", "aac")
    assert (light.width, light.height) == (640, 360)  # never enlarged to 480 p
    assert light.bitrate_kbps is not None and light.bitrate_kbps < 700  # a few hundred kbps

    # the original's bytes and hash are what was uploaded
    assert versions[1].blob_sha256 == hashlib.sha256(original).hexdigest()
    whole = client.get(f"/api/v1/records/{record_id}/versions/1/content", headers=lan)
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == versions[1].blob_sha256
    # the record's content, asked for without a version, is the original, not the poster or the copy made after it
    current = client.get(f"/api/v1/records/{record_id}/content", headers=lan)
    assert current.status_code == 200 and current.content == whole.content

    copy = client.get(f"/api/v1/records/{record_id}/versions/{stream.number}/content", headers=lan).content
    assert copy.index(b"moov") < copy.index(b"mdat")  # fast start: the index before the media
    for number, size in ((stream.number, stream.size), (1, len(original))):
        part = client.get(
            f"/api/v1/records/{record_id}/versions/{number}/content?inline=true",
            headers={**lan, "Range": "bytes=100-1123"},
        )
        assert part.status_code == 206 and part.headers["accept-ranges"] == "bytes"
        assert part.headers["content-range"] == f"bytes 100-1123/{size}" and len(part.content) == 1024
        assert part.content == (copy if number == stream.number else original)[100:1124]

    picture = client.get(f"/api/v1/records/{record_id}/versions/{poster.number}/poster.jpg", headers=lan)
    assert picture.status_code == 200 and picture.content.startswith(b"\xff\xd8\xff")
    assert picture.headers["content-type"] == "image/jpeg"
    not_a_poster = client.get(f"/api/v1/records/{record_id}/versions/1/poster.jpg", headers=lan)
    assert not_a_poster.status_code == 404, not_a_poster.text

    page_login(client, "gv.lan")
    page = client.get(f"/ho-so/{record_id}").text
    assert f'src="/api/v1/records/{record_id}/versions/{stream.number}/content?inline=true"' in page
    assert f"versions/{poster.number}/poster.jpg" in page and "Xem bản gốc" in page
    assert "Video gốc: MPEG-4, 640×360, 0:02" in page and "Chưa đạt chuẩn lưu trữ" not in page
    asked = client.get(f"/ho-so/{record_id}", params={"ban": "goc"}).text
    assert f'src="/api/v1/records/{record_id}/versions/1/content?inline=true"' in asked and "Xem bản nhẹ" in asked

    # what is submitted, signed and preserved is the original
    submitted = client.post(f"/api/v1/records/{record_id}/submit", headers=lan, json={"period": "2026-11"})
    assert submitted.status_code == 201 and submitted.json()["version"] == 1, submitted.text


def test_a_low_bitrate_recording_is_kept_with_the_law_s_warning(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    lan = login(client, "gv.lan")
    record_id = upload(client, lan, "tiet-day.mp4", synthesize(tmp_path / "low.mp4", kbps=300), **LESSON)
    page_login(client, "gv.lan")
    page = client.get(f"/ho-so/{record_id}").text
    assert "Chưa đạt chuẩn lưu trữ: video " in page and "dưới mức 1500 kbps của Thông tư 05/2025" in page
    assert "bản xem nhẹ cho mạng yếu chưa có" in page  # the original plays until the copy is made
    assert f'src="/api/v1/records/{record_id}/versions/1/content?inline=true"' in page


def test_the_law_s_check_names_a_container_that_is_not_mpeg_4() -> None:
    mov = media_facts.Probe("QuickTime", "h264", "aac", 2000, 60.0, 1280, 720)
    assert media_facts.warnings(mov, "video/quicktime") == [
        (
            "định dạng QuickTime, không phải MPEG-4 theo Thông tư 05/2025",
            "QuickTime container, not the MPEG-4 that Thông tư 05/2025 asks for",
        )
    ]
    assert media_facts.warnings(mov, "video/mp4") == []


@pytest.mark.parametrize("case", ["sound only", "cut off"])
def test_a_recording_with_no_picture_or_cut_off_is_refused_with_nothing_stored(
    client: TestClient, world: World, session: Session, tmp_path: Path, case: str
) -> None:
    if case == "sound only":
        data, said = synthesize(tmp_path / "tieng.mp4", video=False), "không có hình"
    else:  # the first half of an MP4 whose index is at its end: what a dropped copy leaves
        whole = synthesize(tmp_path / "whole.mp4")
        assert whole.index(b"mdat") < whole.index(b"moov")
        data, said = whole[: len(whole) // 2], "tệp bị hỏng hoặc chưa tải lên hết"
    lan = login(client, "gv.lan")
    response = client.post(
        "/api/v1/records",
        headers=lan,
        files={"metadata": (None, json.dumps(meta(**LESSON))), "file": ("tiet-day.mp4", data)},
    )
    assert response.status_code == 422, response.text
    assert said in response.json()["message"]
    session.commit()
    assert session.scalar(select(func.count()).select_from(Record)) == 0
    assert session.scalar(select(func.count()).select_from(Blob)) == 0
    assert session.scalar(select(func.count()).select_from(Rendition)) == 0


def test_an_encode_past_its_limit_is_killed_retried_and_fails_alone(
    client: TestClient, world: World, session: Session, settings: Settings, tmp_path: Path
) -> None:
    from datetime import timedelta

    state = client.app.state.hoso  # type: ignore[attr-defined]
    state.settings = settings.model_copy(update={"video_min_seconds": 0.01, "video_seconds_per_second": 0})
    lan = login(client, "gv.lan")
    record_id = upload(client, lan, "tiet-day.mp4", synthesize(tmp_path / "a.mp4"), **LESSON)
    assert run_all(client) == 2
    session.commit()
    rows = list(session.scalars(select(Rendition).where(Rendition.record_id == record_id)))
    assert {(r.state, r.error) for r in rows} == {(RenditionState.queued, recording.TIMED_OUT[0])}
    for attempt in range(2, MAX_ATTEMPTS + 1):  # retried with back-off, on the one clock
        with calendar.pinned(calendar.now() + timedelta(hours=attempt)):
            assert run_all(client) == 2
    session.commit()
    failed = list(
        session.scalars(
            select(Rendition).where(Rendition.record_id == record_id).execution_options(populate_existing=True)
        )
    )
    assert {r.state for r in failed} == {RenditionState.failed}
    gave_up = select(func.count()).select_from(Job).where(Job.kind == VIDEO_JOB, Job.state == "failed")
    assert session.scalar(gave_up) == 2
    left = subprocess.run(["pgrep", "-f", str(settings.tmp_dir)], capture_output=True, text=True).stdout.split()
    assert not left, f"ffmpeg left running: {left}"
    record = session.get(Record, record_id)
    assert record is not None and record.current_version == 1  # nothing half-stored: the original only
    page_login(client, "gv.lan")
    page = client.get(f"/ho-so/{record_id}").text
    assert recording.TIMED_OUT[0] in page and "Video gốc vẫn xem và tải về được." in page
    assert f'src="/api/v1/records/{record_id}/versions/1/content?inline=true"' in page


def test_an_evidence_package_carries_the_original_its_copies_and_the_events_linking_them(
    client: TestClient, world: World, settings: Settings, tmp_path: Path
) -> None:
    from flows.evidence.verify import verify
    from tests.flows.test_evidence import wait_ready

    settings.seal_pkcs12, settings.seal_password, settings.tsa_url = None, None, None  # the default set-up
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    original = synthesize(tmp_path / "tiet-day.mp4")
    record_id = upload(client, lan, "tiet-day.mp4", original, **LESSON)
    assert run_all(client) == 2
    asked = client.post("/api/v1/evidence", headers=hoa, json={"title": "Video tháng 11", "record_ids": [record_id]})
    assert asked.status_code == 202, asked.text
    export = wait_ready(client, hoa, asked.json()["id"])
    assert export["state"] == "ready", export
    package = tmp_path / "chung-cu.zip"
    package.write_bytes(client.get(export["download_url"], headers=hoa).content)
    with zipfile.ZipFile(package) as z:
        inside = {n.split("/", 1)[1]: n for n in z.namelist()}
        folder = next(n.rsplit("/", 1)[0] for n in inside if n.endswith("v1-tiet-day.mp4"))
        assert (
            hashlib.sha256(z.read(inside[f"{folder}/v1-tiet-day.mp4"])).hexdigest()
            == hashlib.sha256(original).hexdigest()
        )
        premis = next(z.read(n).decode() for n in z.namelist() if n.lower().endswith("premis.xml"))
    assert f"{folder}/v2-tiet-day-poster.jpg" in inside and f"{folder}/v3-tiet-day-xem.mp4" in inside
    assert premis.count("<premis:eventType>normalization</premis:eventType>") == 2 and "FFmpeg " in premis
    assert "Bản xem trực tuyến (H.264/AAC, tối đa 480p) của phiên bản 1" in premis
    verdict = verify(package, settings)
    assert verdict.intact, verdict.problems
