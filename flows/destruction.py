"""Work that destroys or hands over records and needs two domains: the signed destruction decision
(steps 3 and 4 of a destruction; steps 1 and 2 need no signing and are `retention.service`'s) and
the transfer package's signature files. A record's blobs are `flows.blobs`.

It lives in flows because retention may not import signing (DESIGN §1): the retention steps take
these as plain callables, and the steps that need them (decide, execute, transfer) are composed
here for the routes and pages alike.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Person, Record, Version
from archive.storage import ObjectStore
from flows import own_signing
from flows.blobs import record_blobs
from flows.settings import Settings
from retention import disposition as disposition_flow
from retention import schedule, transfer
from retention import service as retention
from retention.models import Disposition, Transfer
from signing import keys, levels, seal
from signing.models import Signature

MAX_KEY_FILE = own_signing.MAX_KEY_FILE


def sign_decision(
    settings: Settings, key: keys.KeySource, session: Session, person: Person, confirm_certificate: str | None
) -> disposition_flow.SignPdf:
    """The decision signed with the principal's own key (`flows.own_signing`)."""
    return own_signing.own_signer(
        settings,
        key,
        session,
        person,
        confirm_certificate,
        verdict="ĐÃ KÝ",
        reason="Quyết định hủy tài liệu",
        field="HOSO_QUYET_DINH_HUY",
        purpose=levels.Purpose.destruction_decision,
    )


def detached_files(session: Session, record: Record) -> list[tuple[str, str, str]]:
    """A record's detached signatures as (file name, sha256, media type), for the transfer package."""
    rows = session.execute(
        select(Signature.version_number, Signature.detached_sha256, Version.original_filename)
        .join(Version, (Version.record_id == Signature.record_id) & (Version.number == Signature.version_number))
        .where(Signature.record_id == record.id, Signature.detached_sha256.is_not(None))
    ).all()
    return [(f"v{n}-{name}.p7s", sha, "application/pkcs7-signature") for n, sha, name in rows if sha]


def decide(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    person: Person,
    disposition_id: int,
    *,
    approve: bool,
    decision_number: str,
    pkcs12: bytes | None = None,
    password: str | None = None,
    confirm_certificate: str | None = None,
) -> Disposition:
    """Step 3 of a destruction: with the principal's .p12 (at most `MAX_KEY_FILE` bytes read) the decision
    is signed (`sign_decision`), else recorded and flagged unsigned."""
    key = own_signing.key_from_upload(pkcs12, password) if pkcs12 is not None else None
    try:  # the key is closed on every path: refused certificate, refused decision, or signed
        sign = sign_decision(settings, key, session, person, confirm_certificate) if key else None
        return disposition_flow.decide(
            session,
            store,
            settings.tmp_dir,
            person,
            disposition_id,
            approve=approve,
            decision_number=decision_number,
            sign=sign,
        )
    finally:
        if key is not None:
            key.close()


def execute(
    session: Session, settings: Settings, store: ObjectStore, person: Person, disposition_id: int
) -> Disposition:
    """Step 4 of a destruction, every blob of each record (its detached signatures too) deleted."""
    return disposition_flow.execute(session, store, settings.tmp_dir, person, disposition_id, blobs_of=record_blobs)


def build_transfer(
    session: Session, settings: Settings, store: ObjectStore, person: Person, school_code: str, school_year: str
) -> Transfer:
    """The sealed E-ARK SIP of one school year's permanent records (with their detached signatures)."""
    school = retention.managed_school(session, person, school_code)
    schedule.refresh(session)
    seal_key, _self_signed = seal.load(settings)
    try:
        return transfer.build(
            session,
            store,
            settings.tmp_dir,
            person,
            school,
            school_year,
            detached_files,
            lambda manifest: seal.seal(settings, seal_key, manifest),
        )
    finally:
        seal_key.close()
