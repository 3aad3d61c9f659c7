"""Copies for use, composed: the checks (retention.copies), the marks (retention.copies.stamp), the
school's seal (signing.copy_seal), the object store. Routes, pages and the CLI call these.

The original is only read (hash-checked as it streams, archive/blobs.py) and never written: every
copy is a new object under `copies/<school>/<year>/`, recorded with its SHA-256 on the request's
row. "Put first, ask later" as in ingest: the copy is stored, then its row is committed; a crash
in between leaves an object no row names, which is garbage, never a row without its file; a row
refused after the put (a number taken, the other issuer first) deletes the object it stored. One
document at a time is made in the request (a stamped PDF in well under a second, a sealed one plus
the TSA's round trip), so no job is needed. Every step reads and writes spooled files (in memory
to 16 MiB, then on disk) and the store hashes the finished file as it stores it: on a 48 MiB scan
the peak heap fell from 266 to 82 MiB for an authenticated copy (bench/copy_memory.py). A read
copy's pages come from the verified local copy the record viewer uses (archive/preview_copies.py).

The seal is checked before anything is made: valid, trusted and not revoked (signing.copy_seal),
then the school's own registered seal (signing.seal_ownership).
"""

from __future__ import annotations

import contextlib
import secrets as random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO, cast

from sqlalchemy.orm import Session

from archive import blobs, calendar, preview, preview_copies
from archive.exceptions import Conflict
from archive.models import Person, School
from archive.storage import ObjectMissing, ObjectStore
from flows.settings import Settings
from retention.copies import service
from retention.copies import stamp as marks
from retention.copies.models import CopyKind, CopyRequest
from signing import copy_seal, seal_ownership
from signing import service as signing_service
from signing.keys import KeySource

ATTEMPTS = 3  # another copy of the same school taking the number in between: make it again
MAX_IMAGE = 2 * 1024 * 1024  # a seal image is a small PNG/JPEG
SPOOL = 16 * 1024 * 1024  # in memory up to this, then on disk


@dataclass
class SealSecrets:
    """What the issuer gives for the school's seal: a .p12 and its password, or the server token's PIN;
    `confirm_seal` is the fingerprint confirmed on the seal's first use (signing/seal_ownership.py)."""

    key_source: str = "pkcs12"
    pkcs12: BinaryIO | None = None
    password: str | None = None
    pin: str | None = None
    seal_image: BinaryIO | None = None
    confirm_seal: str | None = None


def _spool(settings: Settings) -> BinaryIO:
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    return cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=SPOOL, dir=str(settings.tmp_dir)))


@contextmanager
def _source(session: Session, store: ObjectStore, settings: Settings, sha256: str) -> Iterator[BinaryIO]:
    with _spool(settings) as spool:
        for chunk in blobs.read_verified(session, store, sha256):
            spool.write(chunk)
        spool.seek(0)
        yield spool


def _put(store: ObjectStore, school_code: str, year: int, copy_id: str, made: BinaryIO) -> tuple[str, str, int]:
    """Store the finished copy from its file; its SHA-256 and size are what the store hashed on the way."""
    size = made.seek(0, 2)
    made.seek(0)
    key = f"copies/{school_code}/{year}/{copy_id}.{random.token_hex(8)}.pdf"  # one attempt, one object
    put = store.put(key, made, size, content_type="application/pdf", replace=True)
    return key, put.sha256, put.size


def _discard(store: ObjectStore, key: str) -> None:
    """A stored copy whose row was refused (a race lost, a number taken): nothing half-stored stays."""
    with contextlib.suppress(ObjectMissing):
        store.delete(key)


def _stamped(
    session: Session, store: ObjectStore, settings: Settings, sha256: str, label: marks.CopyLabel, out: BinaryIO
) -> int:
    with _source(session, store, settings, sha256) as source:
        return marks.stamp_copy(source, label, out, settings.stamp_font)


def request(
    session: Session,
    store: ObjectStore,
    settings: Settings,
    actor: Person,
    record_id: str,
    kind: str,
    purpose: str,
    read_until: date | None = None,
) -> CopyRequest:
    """A request: a read copy is issued at once, a BẢN SAO copy made and issued at once, an
    authenticated copy waits for the school's clerk or principal."""
    checked = service.check(session, actor, record_id, kind, purpose, read_until)
    preview.check_request(checked.version, 1, preview.MAX_WIDTH)
    if checked.kind != CopyKind.copy:
        return service.create(session, actor, checked)
    school = checked.record.school
    for attempt in range(ATTEMPTS):
        year = calendar.today().year
        seq = service.next_number(session, school.id, year)
        label = marks.CopyLabel(school.name, f"{seq:02d}/{year}/BS", calendar.now(), actor.full_name)
        with _spool(settings) as pdf:
            _stamped(session, store, settings, checked.version.blob_sha256, label, pdf)
            key, sha, size = _put(store, school.code, year, f"{checked.record.id}-{seq}", pdf)
        try:
            return service.create(session, actor, checked, service.Made(year, seq, key, sha, size))
        except Conflict:
            _discard(store, key)
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def issue(
    session: Session,
    store: ObjectStore,
    settings: Settings,
    actor: Person,
    copy_id: str,
    key: KeySource,
    seal_image: bytes | None = None,
    confirm_seal: str | None = None,
) -> CopyRequest:
    """The clerk or principal issues an authenticated copy: BẢN SAO pages behind an authentication
    page, sealed with the school's key — checked first: valid, trusted, not revoked, and the
    school's registered seal (its first use confirmed with `confirm_seal`)."""
    copy = service.pending_for_issue(session, actor, copy_id)
    school = copy.school
    copy_seal.check_seal(settings, key)
    seal_ownership.require_school_seal(session, actor, school, key.certificate, confirm_seal)
    copy = service.pending_for_issue(session, actor, copy_id)  # still waiting after the checks' round trips
    for attempt in range(ATTEMPTS):
        year = calendar.today().year
        seq = service.next_number(session, school.id, year)
        with _spool(settings) as signed:
            _sealed(session, store, settings, actor, copy, school, seq, year, key, seal_image, signed)
            stored, sha, size = _put(store, school.code, year, f"{copy.id}-{seq}", signed)
        subject = key.certificate.subject.human_friendly
        try:
            return service.issue(session, actor, copy, service.Made(year, seq, stored, sha, size, subject))
        except service.AlreadyDecided:
            _discard(store, stored)  # the other issuer's copy stands; this one was never handed out
            raise
        except Conflict:
            _discard(store, stored)
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _sealed(
    session: Session,
    store: ObjectStore,
    settings: Settings,
    actor: Person,
    copy: CopyRequest,
    school: School,
    seq: int,
    year: int,
    key: KeySource,
    seal_image: bytes | None,
    out: BinaryIO,
) -> None:
    """The authenticated copy, written to `out`: stamped pages (a spool), the authentication page
    before them (another), then the seal."""
    record, number = copy.record, f"{seq:02d}/{year}/BS"
    label = marks.CopyLabel(school.name, number, calendar.now(), copy.requested_by.full_name)
    assert copy.source_sha256 is not None
    with _spool(settings) as pages_pdf, _spool(settings) as unsigned:
        pages = _stamped(session, store, settings, copy.source_sha256, label, pages_pdf)
        facts = marks.Authentication(
            school=school.name,
            record_title=record.title,
            record_id=record.id,
            record_type=record.record_type.name_vi,
            school_year=record.school_year,
            version=f"phiên bản {copy.version_number}",
            original_sha256=copy.source_sha256,
            pages=pages,
            requester=_requester(session, copy),
            purpose=copy.purpose,
            authenticated_by=f"{actor.full_name} ({_title(actor, school.id)})",
            authenticated_at=calendar.now(),
            number=number,
        )
        pages_pdf.seek(0)
        marks.prepend(marks.authentication_page(facts, settings.stamp_font), pages_pdf, unsigned)
        pages_pdf.truncate(0)  # the stamped pages are in `unsigned` now
        unsigned.seek(0)
        copy_seal.sign_copy(
            settings, key, unsigned, out, marks.seal_box(), school=school.name, number=number, image=seal_image
        )


def _title(actor: Person, school_id: int) -> str:
    from archive.models import Role

    roles = {m.role for m in actor.memberships if m.school_id == school_id}
    return "Hiệu trưởng" if Role.principal in roles else "Văn thư"


def _requester(session: Session, copy: CopyRequest) -> str:
    """The requester, with the inspection decision when they came through a grant."""
    from archive.models import InspectorGrant

    name = copy.requested_by.full_name
    grant = session.get(InspectorGrant, copy.grant_id) if copy.grant_id else None
    return f"{name} (thanh tra, quyết định số {grant.decision_number})" if grant else name


def download(session: Session, store: ObjectStore, actor: Person, copy_id: str) -> tuple[CopyRequest, Iterator[bytes]]:
    """The copy's bytes (hash-checked as they stream), audited as downloaded."""
    copy = service.for_download(session, actor, copy_id)
    assert copy.store_key is not None and copy.sha256 is not None
    chunks = blobs.verified(store.get(copy.store_key), copy.sha256, copy.size)
    service.audit_use(session, actor, copy, "copy.downloaded")
    return copy, chunks


def _local(session: Session, store: ObjectStore, settings: Settings, sha256: str) -> Path:
    """The verified local copy of the source (archive/preview_copies.py), as the record viewer uses:
    fetched and hashed once, not per page turned."""
    return preview_copies.copy_of(settings.tmp_dir, sha256, lambda: blobs.read_verified(session, store, sha256))


def _on_local(session: Session, store: ObjectStore, settings: Settings, sha256: str, use):  # type: ignore[no-untyped-def]
    try:
        return use(_local(session, store, settings, sha256))
    except FileNotFoundError:  # another process evicted it between lookup and use: fetched again
        return use(_local(session, store, settings, sha256))


def page_count(session: Session, store: ObjectStore, settings: Settings, actor: Person, copy_id: str) -> int:
    copy = service.for_reading(session, actor, copy_id)
    assert copy.source_sha256 is not None
    return int(_on_local(session, store, settings, copy.source_sha256, preview.page_count))


def read_page(
    session: Session, store: ObjectStore, settings: Settings, actor: Person, copy_id: str, page: int, width: int
) -> bytes:
    """One page of a read copy, the school's name across it; the first page's look is audited."""
    copy = service.for_reading(session, actor, copy_id)
    if not preview.MIN_WIDTH <= width <= preview.MAX_WIDTH or not 1 <= page <= preview.MAX_PAGE:
        from archive.exceptions import InvalidInput

        raise InvalidInput("Trang hoặc độ rộng ảnh không hợp lệ.", "Invalid page or image width.")
    assert copy.source_sha256 is not None and copy.read_until is not None
    png, _count = _on_local(session, store, settings, copy.source_sha256, lambda p: preview.render_png(p, page, width))
    if page == 1:
        service.audit_use(session, actor, copy, "copy.viewed", page=page)
    return marks.watermark_png(png, copy.school.name, f"{copy.read_until:%d/%m/%Y}", settings.stamp_font)


def issue_with(
    session: Session,
    store: ObjectStore,
    settings: Settings,
    actor: Person,
    copy_id: str,
    secrets: SealSecrets,
) -> CopyRequest:
    """`issue` with the seal's key opened from what the issuer gave (and closed after)."""
    service.pending_for_issue(session, actor, copy_id)  # refusals before a key file is opened
    image = signing_service.read_small(secrets.seal_image, MAX_IMAGE, "Ảnh con dấu", "seal image")
    signing_service.check_signature_image(image)
    key = signing_service.server_key(settings, secrets.key_source, secrets.pkcs12, secrets.password, secrets.pin)
    try:
        return issue(session, store, settings, actor, copy_id, key, image, secrets.confirm_seal)
    finally:
        key.close()
