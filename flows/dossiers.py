"""The dossier year's steps that need signing: the approved yearly list and the handover list are
sealed PDFs (PAdES, with a visible stamp naming who approved or handed over), made here because
retention may not import signing (DESIGN §1). The principal may sign the list with their own key
instead (a .p12, `flows.own_signing`). The seal is the archive's (`signing.seal`: the
school's seal certificate when configured, else hoso's own); the routes, pages and CLI call these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from archive.models import DossierHandover, DossierList, Person
from archive.storage import ObjectStore
from flows import own_signing
from flows.settings import Settings
from retention.dossiers import approval, handover, papers
from signing import levels, pades, seal, stamp


@contextmanager
def sealing(settings: Settings, title: str, name: str, verdict: str, reason: str) -> Iterator[papers.SignPdf]:
    """A signer of one PDF with the archive's seal, its stamp naming `title` and `name`; the key is
    closed when the step is over."""
    key, _self_signed = seal.load(settings)

    def sign(pdf: bytes) -> bytes:
        mark = stamp.render(title=title, name=name, when=datetime.now(UTC), verdict=verdict, font=settings.stamp_font)
        level = levels.level_for(settings, levels.Purpose.dossier_paper)
        setup = pades.PadesSetup.build(
            key.signer, level, mark, settings.stamp_page, settings.tsa_url, None, reason=reason
        )
        return asyncio.run(pades.sign(setup, pdf, "HOSO_HO_SO")).pdf

    try:
        yield sign
    finally:
        key.close()


def approve_list(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    person: Person,
    list_id: int,
    *,
    pkcs12: bytes | None = None,
    password: str | None = None,
    confirm_certificate: str | None = None,
) -> DossierList:
    """The principal approves the yearly list. With the principal's .p12 its PDF is signed with their
    own key (`flows.own_signing`: checked theirs first); without, sealed with the archive's seal and
    the principal named on the stamp."""
    if pkcs12 is None:
        with sealing(settings, "HIỆU TRƯỞNG", person.full_name, "ĐÃ PHÊ DUYỆT", "Phê duyệt danh mục hồ sơ") as sign:
            return approval.approve(session, store, settings.tmp_dir, person, list_id, sign)
    key = own_signing.key_from_upload(pkcs12, password)
    try:  # closed on every path: a refused certificate, a refused approval, or signed
        own = own_signing.own_signer(
            settings,
            key,
            session,
            person,
            confirm_certificate,
            verdict="ĐÃ PHÊ DUYỆT",
            reason="Phê duyệt danh mục hồ sơ",
            field="HOSO_HO_SO",
            purpose=levels.Purpose.dossier_paper,
        )
        return approval.approve(session, store, settings.tmp_dir, person, list_id, own, own_key=True)
    finally:
        key.close()


def hand_over(
    session: Session, settings: Settings, store: ObjectStore, person: Person, dossier_ids: Sequence[str]
) -> DossierHandover:
    """Closed dossiers handed to the school's archive with the sealed handover list."""
    with sealing(settings, "BÊN GIAO", person.full_name, "ĐÃ GIAO NỘP", "Giao nộp hồ sơ vào lưu trữ cơ quan") as sign:
        return handover.hand_over(session, store, settings.tmp_dir, person, dossier_ids, sign)
