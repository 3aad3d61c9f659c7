"""Copies for use, composed: the checks (retention.copies), the marks (retention.copies.stamp), the
school's seal (signing.copy_seal), the object store. Routes, pages and the CLI call these.

The original is only read (hash-checked as it streams, archive/blobs.py) and never written: every
copy is a new object under `copies/<school>/<year>/`, recorded with its SHA-256 on the request's
row. "Put first, ask later" as in ingest: the copy is stored, then its row is committed; a crash
in between leaves an object no row names, which is garbage, never a row without its file. One
document at a time is made in the request (a stamped PDF in well under a second, a sealed one plus
the TSA's round trip), so no job is needed; the source is spooled to disk past 16 MiB.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from sqlalchemy.orm import Session

from archive import blobs, calendar, preview
from archive.exceptions import Conflict
from archive.models import Person
from archive.storage import ObjectStore
from flows.settings import Settings
from retention.copies import service
from retention.copies import stamp as marks
from retention.copies.models import CopyKind, CopyRequest
from signing import copy_seal
from signing import service as signing_service
from signing.keys import KeySource

ATTEMPTS = 3  # another copy of the same school taking the number in between: make it again
MAX_IMAGE = 2 * 1024 * 1024  # a seal image is a small PNG/JPEG


@dataclass
class SealSecrets:
    """What the issuer gives for the school's seal: a .p12 and its password, or the server token's PIN."""

    key_source: str = "pkcs12"
    pkcs12: BinaryIO | None = None
    password: str | None = None
    pin: str | None = None
    seal_image: BinaryIO | None = None


@contextmanager
def _source(session: Session, store: ObjectStore, sha256: str) -> Iterator[BinaryIO]:
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
        for chunk in blobs.read_verified(session, store, sha256):
            spool.write(chunk)
        spool.seek(0)
        yield spool  # type: ignore[misc]


def _put(store: ObjectStore, school_code: str, year: int, copy_id: str, pdf: bytes) -> tuple[str, str]:
    sha = hashlib.sha256(pdf).hexdigest()
    key = f"copies/{school_code}/{year}/{copy_id}.{sha[:16]}.pdf"
    put = store.put(key, io.BytesIO(pdf), len(pdf), content_type="application/pdf", replace=True)
    return key, put.sha256


def _stamped(
    session: Session, store: ObjectStore, settings: Settings, sha256: str, label: marks.CopyLabel
) -> tuple[bytes, int]:
    with _source(session, store, sha256) as source:
        return marks.stamp_copy(source, label, settings.stamp_font)


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
        pdf, _pages = _stamped(session, store, settings, checked.version.blob_sha256, label)
        key, sha = _put(store, school.code, year, f"{checked.record.id}-{seq}", pdf)
        made = service.Made(year, seq, key, sha, len(pdf))
        try:
            return service.create(session, actor, checked, made)
        except Conflict:
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
) -> CopyRequest:
    """The clerk or principal issues an authenticated copy: BẢN SAO pages behind an authentication
    page, sealed with the school's key (checked first: valid, trusted, not revoked)."""
    copy = service.pending_for_issue(session, actor, copy_id)
    school, record = copy.school, copy.record
    for attempt in range(ATTEMPTS):
        year = calendar.today().year
        seq = service.next_number(session, school.id, year)
        number = f"{seq:02d}/{year}/BS"
        label = marks.CopyLabel(school.name, number, calendar.now(), copy.requested_by.full_name)
        assert copy.source_sha256 is not None
        pages_pdf, pages = _stamped(session, store, settings, copy.source_sha256, label)
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
        unsigned = marks.prepend(marks.authentication_page(facts, settings.stamp_font), pages_pdf)
        signed, _when = copy_seal.sign_copy(
            settings, key, unsigned, marks.seal_box(), school=school.name, number=number, image=seal_image
        )
        stored, sha = _put(store, school.code, year, f"{copy.id}-{seq}", signed)
        subject = key.certificate.subject.human_friendly
        try:
            return service.issue(session, actor, copy, service.Made(year, seq, stored, sha, len(signed), subject))
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


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


def page_count(session: Session, store: ObjectStore, actor: Person, copy_id: str) -> int:
    copy = service.for_reading(session, actor, copy_id)
    assert copy.source_sha256 is not None
    return preview.page_count(blobs.read_verified(session, store, copy.source_sha256))


def read_page(
    session: Session, store: ObjectStore, settings: Settings, actor: Person, copy_id: str, page: int, width: int
) -> bytes:
    """One page of a read copy, the school's name across it; the first page's look is audited."""
    copy = service.for_reading(session, actor, copy_id)
    if not preview.MIN_WIDTH <= width <= preview.MAX_WIDTH or not 1 <= page <= preview.MAX_PAGE:
        from archive.exceptions import InvalidInput

        raise InvalidInput("Trang hoặc độ rộng ảnh không hợp lệ.", "Invalid page or image width.")
    assert copy.source_sha256 is not None and copy.read_until is not None
    png, _count = preview.render_png(blobs.read_verified(session, store, copy.source_sha256), page, width)
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
        return issue(session, store, settings, actor, copy_id, key, image)
    finally:
        key.close()
