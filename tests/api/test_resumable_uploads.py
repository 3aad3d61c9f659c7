"""Resumable uploads (tus 1.0 semantics): chunks, a dropped connection, wrong offsets, limits, rights."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from tests.factories import World, login, meta, mp4_bytes


def start(client: TestClient, headers: dict[str, str], data: bytes, **overrides: object):  # type: ignore[no-untyped-def]
    body = {
        "metadata": meta(record_type="lesson_recording", title="Video tiết dạy Toán 5", **overrides),
        "filename": "tiet-day.mp4",
        "size": len(data),
    }
    return client.post("/api/v1/uploads", headers=headers, json=body)


def send(client: TestClient, headers: dict[str, str], upload_id: str, offset: int, chunk: bytes):  # type: ignore[no-untyped-def]
    return client.patch(
        f"/api/v1/uploads/{upload_id}",
        headers={**headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        content=chunk,
    )


def test_a_recording_arrives_in_chunks_and_resumes_after_a_drop(client: TestClient, world: World) -> None:
    lan = login(client, "gv.lan")
    data = mp4_bytes(3 * 1024 * 1024 + 123)
    made = start(client, lan, data)
    assert made.status_code == 201, made.text
    upload_id = made.json()["id"]
    assert made.headers["location"] == f"/api/v1/uploads/{upload_id}"
    assert send(client, lan, upload_id, 0, data[: 1024 * 1024]).json()["offset"] == 1024 * 1024
    # the connection drops; the client asks where to carry on
    head = client.head(f"/api/v1/uploads/{upload_id}", headers=lan)
    assert head.headers["upload-offset"] == str(1024 * 1024) and head.headers["upload-length"] == str(len(data))
    wrong = send(client, lan, upload_id, 0, data[:10])
    assert wrong.status_code == 409 and wrong.json()["detail"]["offset"] == 1024 * 1024
    done = send(client, lan, upload_id, 1024 * 1024, data[1024 * 1024 :])
    assert done.status_code == 200 and done.json()["state"] == "done", done.text
    record_id = done.json()["record_id"]
    record = client.get(f"/api/v1/records/{record_id}", headers=lan).json()
    assert record["record_type"] == "lesson_recording"
    versions = client.get(f"/api/v1/records/{record_id}/versions", headers=lan).json()
    assert versions[0]["sha256"] == hashlib.sha256(data).hexdigest() and versions[0]["media_type"] == "video/mp4"
    seek = client.get(f"/api/v1/records/{record_id}/content", headers={**lan, "Range": "bytes=1000-1999"})
    assert seek.status_code == 206 and seek.content == data[1000:2000]
    again = send(client, lan, upload_id, 1024 * 1024, data[1024 * 1024 :])  # its answer was lost: sent again
    assert again.status_code == 200 and again.json()["record_id"] == record_id  # the same record, no second


def test_bad_uploads_are_refused_before_or_as_bytes_arrive(client: TestClient, world: World, settings) -> None:  # type: ignore[no-untyped-def]
    lan = login(client, "gv.lan")
    data = mp4_bytes(4096)
    assert start(client, lan, data, school_code="KHONGCO").status_code == 404
    assert start(client, lan, data, school_code="THB").status_code == 403
    traversal = client.post(
        "/api/v1/uploads",
        headers=lan,
        json={"metadata": meta(record_type="lesson_recording"), "filename": "../x.mp4", "size": 9},
    )
    assert traversal.status_code == 422 and "Tên tệp không hợp lệ" in traversal.json()["message"]
    settings.max_upload_bytes = 1000
    too_big = start(client, lan, data)
    assert too_big.status_code == 413 and "vượt quá giới hạn" in too_big.json()["message"]
    settings.max_upload_bytes = 50 * 1024 * 1024
    upload_id = start(client, lan, data).json()["id"]
    over = send(client, lan, upload_id, 0, data + b"extra")
    assert over.status_code == 422 and "vượt quá kích thước" in over.json()["message"]
    missing = client.patch(f"/api/v1/uploads/{upload_id}", headers=lan, content=b"x")
    assert missing.status_code == 422 and "Upload-Offset" in missing.json()["message"]
    other = login(client, "gv.minh")
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=other).status_code == 404
    assert send(client, other, upload_id, 0, data).status_code == 404
    assert client.delete(f"/api/v1/uploads/{upload_id}", headers=lan).status_code == 204
    assert send(client, lan, upload_id, 0, data).status_code == 409
    not_video = start(client, lan, b"%PDF-1.7 not a video")
    upload_id = not_video.json()["id"]
    refused = send(client, lan, upload_id, 0, b"%PDF-1.7 not a video")
    assert refused.status_code == 415  # the sniffed type must be one the record type accepts


def test_the_last_chunk_uses_the_running_hash_and_falls_back_to_the_disk(
    client: TestClient, world: World, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Hashed as the chunks arrive (no re-read of the whole recording); from the disk when the running
    hash cannot be trusted (a refused chunk, another process, a restart); the record's SHA-256 right both ways."""
    from archive import uploads

    seen: list[str | None] = []
    done = uploads.RUNNING.done
    monkeypatch.setattr(uploads.RUNNING, "done", lambda path, size: seen.append(done(path, size)) or seen[-1])
    lan = login(client, "gv.lan")
    mb = 1024 * 1024
    for restart in (False, True):
        data = mp4_bytes(3 * mb + 77 + restart)
        upload_id = start(client, lan, data).json()["id"]
        assert send(client, lan, upload_id, 0, data[:mb]).json()["offset"] == mb
        too_much = send(client, lan, upload_id, mb, data[mb:] + b"extra")  # refused as it arrives
        assert too_much.status_code in (400, 413, 422), too_much.text
        assert send(client, lan, upload_id, mb, data[mb : 2 * mb]).json()["offset"] == 2 * mb
        if restart:
            uploads.RUNNING.known.clear()  # what a restart of `hoso serve` loses
        finished = send(client, lan, upload_id, 2 * mb, data[2 * mb :]).json()
        versions = client.get(f"/api/v1/records/{finished['record_id']}/versions", headers=lan).json()
        assert versions[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert seen == [hashlib.sha256(mp4_bytes(3 * mb + 77)).hexdigest(), None]


def test_a_chunk_at_a_node_without_the_earlier_bytes_is_refused_not_zero_filled(
    client: TestClient,
    world: World,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """Web nodes with their own data folders: a chunk whose upload began on another node finds no spool
    there. It is refused (409), and nothing is stored; before, the gap was filled with zeros."""
    lan = login(client, "gv.lan")
    data = mp4_bytes(2 * 1024 * 1024)
    upload_id = start(client, lan, data).json()["id"]
    assert send(client, lan, upload_id, 0, data[: 1024 * 1024]).status_code == 200
    (settings.tmp_dir / "uploads" / f"{upload_id}.part").unlink()  # the spool is on the other machine
    refused = send(client, lan, upload_id, 1024 * 1024, data[1024 * 1024 :])
    assert refused.status_code == 409 and "máy chủ khác" in refused.text, refused.text
    after = client.head(f"/api/v1/uploads/{upload_id}", headers=lan)
    assert after.headers["upload-offset"] == str(1024 * 1024)  # still open, at its acknowledged offset
    assert client.get("/api/v1/records", headers=lan).json()["total"] == 0
