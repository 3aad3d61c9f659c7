"""One contract, two stores: the folder store and the S3 store (moto's server over HTTP)."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta

import pytest

from archive.exceptions import InvalidInput
from archive.storage import (
    ObjectExists,
    ObjectLocked,
    ObjectMissing,
    ObjectStore,
    RetentionShortening,
    blob_key,
    make_store,
)
from flows.settings import Settings


@pytest.fixture
def store(any_settings: Settings) -> ObjectStore:
    return make_store(any_settings)


class Trickle(io.RawIOBase):
    """A stream of unknown length that hands out small, uneven reads, like a socket."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = 7777 if n < 0 else min(n, 7777)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk


def test_put_returns_hash_and_size_and_get_streams_back(store: ObjectStore) -> None:
    data = os.urandom(300_000)
    result = store.put("a/b/c.bin", io.BytesIO(data), len(data))
    assert (result.sha256, result.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert b"".join(store.get("a/b/c.bin")) == data
    assert store.head("a/b/c.bin").size == len(data)
    assert store.exists("a/b/c.bin") and not store.exists("a/b/d.bin")


def test_put_of_unknown_length_stream(store: ObjectStore) -> None:
    data = os.urandom(123_457)
    result = store.put("trickle", Trickle(data))  # type: ignore[arg-type]
    assert result.size == len(data)
    assert b"".join(store.get("trickle")) == data


def test_large_object_goes_multipart_and_comes_back_whole(store: ObjectStore) -> None:
    data = os.urandom(12 * 1024 * 1024 + 17)  # > 2 parts of 5 MiB on S3
    result = store.put(blob_key(hashlib.sha256(data).hexdigest()), io.BytesIO(data), len(data))
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(b"".join(store.get(result.key))).hexdigest() == result.sha256


@pytest.mark.parametrize(("start", "length"), [(0, 1), (10, 100), (99_990, 10), (50_000, None)])
def test_get_byte_ranges(store: ObjectStore, start: int, length: int | None) -> None:
    data = os.urandom(100_000)
    store.put("r", io.BytesIO(data), len(data))
    end = len(data) if length is None else start + length
    assert b"".join(store.get("r", start, length)) == data[start:end]


def test_never_overwrites(store: ObjectStore) -> None:
    store.put("k", io.BytesIO(b"first"), 5)
    with pytest.raises(ObjectExists):
        store.put("k", io.BytesIO(b"second"), 6)
    assert b"".join(store.get("k")) == b"first"


def test_replace_is_allowed_only_for_unlocked_objects(store: ObjectStore) -> None:
    store.put("orphan", io.BytesIO(b"one"), 3)
    store.put("orphan", io.BytesIO(b"two"), 3, replace=True)
    assert b"".join(store.get("orphan")) == b"two"
    store.set_retention("orphan", datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(ObjectLocked):
        store.put("orphan", io.BytesIO(b"three"), 5, replace=True)


def test_missing_objects(store: ObjectStore) -> None:
    with pytest.raises(ObjectMissing):
        store.head("nope")
    with pytest.raises(ObjectMissing):
        store.get("nope")
    with pytest.raises(ObjectMissing):
        store.delete("nope")


def test_delete_refused_while_retained_and_shortening_refused(store: ObjectStore) -> None:
    store.put("kept", io.BytesIO(b"x"), 1)
    until = datetime.now(UTC) + timedelta(days=365)
    store.set_retention("kept", until)
    assert abs((store.head("kept").retain_until or until) - until) < timedelta(seconds=1)
    with pytest.raises(ObjectLocked) as refused:
        store.delete("kept")
    assert until.date().isoformat() in refused.value.vi
    with pytest.raises(RetentionShortening):
        store.set_retention("kept", until - timedelta(days=30))
    store.set_retention("kept", until + timedelta(days=30))  # extending is always allowed
    assert store.exists("kept")


def test_legal_hold_blocks_delete_until_released(store: ObjectStore) -> None:
    store.put("held", io.BytesIO(b"x"), 1)
    store.set_legal_hold("held", True)
    assert store.head("held").legal_hold
    with pytest.raises(ObjectLocked):
        store.delete("held")
    store.set_legal_hold("held", False)
    store.delete("held")
    assert not store.exists("held")


def test_expired_retention_allows_delete(store: ObjectStore) -> None:
    store.put("expired", io.BytesIO(b"x"), 1)
    store.set_retention("expired", datetime.now(UTC) + timedelta(seconds=1))
    import time

    time.sleep(1.5)
    store.delete("expired")
    assert not store.exists("expired")


def test_list_by_prefix(store: ObjectStore) -> None:
    for key in ("records/A/2025-2026/r1/v1.json", "records/A/2025-2026/r1/v2.json", "records/B/x.json", "other"):
        store.put(key, io.BytesIO(b"{}"), 2)
    assert sorted(store.list("records/A/")) == ["records/A/2025-2026/r1/v1.json", "records/A/2025-2026/r1/v2.json"]
    assert len(list(store.list("records/"))) == 3


def test_declared_size_mismatch_is_refused_and_nothing_stored(any_settings: Settings) -> None:
    store = make_store(any_settings)
    with pytest.raises(InvalidInput):
        store.put("short", io.BytesIO(b"abc"), 10)
    assert not store.exists("short")
    with pytest.raises(InvalidInput):
        store.put("long", io.BytesIO(b"abcdef"), 3)
    assert not store.exists("long")


def test_folder_store_refuses_traversal_keys(folder_store) -> None:  # type: ignore[no-untyped-def]
    for key in ("../escape", "a/../../b", "/abs", ".lock/x", "a//b"):
        with pytest.raises(InvalidInput):
            folder_store.put(key, io.BytesIO(b"x"), 1)


def test_folder_store_objects_are_read_only_files(folder_store) -> None:  # type: ignore[no-untyped-def]
    folder_store.put("ro", io.BytesIO(b"x"), 1)
    mode = (folder_store.root / "ro").stat().st_mode & 0o777
    assert mode == 0o444


# -- the version hoso wrote (issue #13: "the bytes served are the bytes stored") ------------------


def raw_overwrite(store: ObjectStore, key: str, data: bytes) -> None:
    """What anyone with the bucket's PutObject right can do: a plain put, past hoso's own checks."""
    store.client.put_object(store.bucket, key, io.BytesIO(data), len(data))  # type: ignore[attr-defined]


def raw_delete_marker(store: ObjectStore, key: str) -> None:
    store.client.remove_object(store.bucket, key)  # type: ignore[attr-defined]  # no version: a delete marker


def test_a_put_reports_its_version_and_that_version_reads_back_after_an_overwrite(
    store: ObjectStore, any_settings: Settings
) -> None:
    data = os.urandom(200_000)
    key = blob_key(hashlib.sha256(data).hexdigest())
    put = store.put(key, io.BytesIO(data), len(data))
    if not any_settings.s3_endpoint:
        assert put.version_id is None  # a folder keeps one version: the hash guards it
        [listed] = list(store.list_versions("blobs/"))
        assert (listed.key, listed.size, listed.is_latest, listed.is_delete_marker) == (key, len(data), True, False)
        return
    assert put.version_id and store.head(key).version_id == put.version_id
    raw_overwrite(store, key, b"replacement")
    assert b"".join(store.get(key)) == b"replacement"  # what a reader of "the key" gets
    assert b"".join(store.get(key, version_id=put.version_id)) == data
    assert b"".join(store.get(key, 10, 100, version_id=put.version_id)) == data[10:110]
    assert store.head(key, put.version_id).size == len(data)
    raw_delete_marker(store, key)
    with pytest.raises(ObjectMissing):
        store.head(key)
    assert b"".join(store.get(key, version_id=put.version_id)) == data
    versions = list(store.list_versions("blobs/"))
    assert {v.key for v in versions} == {key}
    assert sum(v.is_delete_marker for v in versions) == 1 and len(versions) == 3
    assert [v.version_id for v in versions if not v.is_delete_marker and v.size == len(data)] == [put.version_id]


def test_retention_locks_the_version_named(store: ObjectStore, any_settings: Settings) -> None:
    put = store.put("locked-version", io.BytesIO(b"mine"), 4)
    if any_settings.s3_endpoint:
        raw_overwrite(store, "locked-version", b"theirs")
    until = datetime.now(UTC) + timedelta(days=30)
    store.set_retention("locked-version", until, put.version_id)
    assert store.head("locked-version", put.version_id).retain_until is not None
    if any_settings.s3_endpoint:
        assert store.head("locked-version").retain_until is None  # the version put over it is not hoso's
