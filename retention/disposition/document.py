"""The one way a destruction step writes its document: render → store → record.

Each step (the list, the council's minutes, the decision, the biên bản hủy) renders an official
document (`archive.pdfdoc`), stores its bytes before the step's transaction (if that transaction
fails, the blob is unreferenced garbage, never a dangling row), and files it as a record of the
permanent destruction dossier inside that same transaction, so the step and its document are
written together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from archive import ingest, pdfdoc
from archive.models import Dossier, Person, School
from archive.storage import ObjectStore
from retention.disposition.common import SignPdf
from retention.models import Disposition


@dataclass(frozen=True)
class Paper:
    """A step's document: its key in `Disposition.documents`, its record's title, what it says."""

    step: str
    title: str
    document: pdfdoc.Document
    sign: SignPdf | None = None  # the decision, signed with the principal's key


class Filing:
    """Handed to the step's transaction; `disposition` is set there when the step creates it (the list)."""

    def __init__(self, disposition: Disposition | None) -> None:
        self.disposition = disposition


@contextmanager
def filed(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    paper: Paper,
    disposition: Disposition | None = None,
    before: Callable[[], None] | None = None,
) -> Iterator[Filing]:
    """Render and store the paper, run `before` (the paper exists first: execution deletes the blobs
    here), then the step's transaction (the body) ending with the paper filed as a record."""
    pdf = pdfdoc.render(paper.document)
    if paper.sign is not None:
        pdf = paper.sign(pdf)
    received = ingest.store_bytes(store, tmp_dir, pdf, len(pdf) + 1)
    if before is not None:
        before()
    filing = Filing(disposition)
    with ingest.versioning(session, store) as written:
        yield filing
        assert filing.disposition is not None, "the step names its disposition"
        _record(session, store, actor, written, filing.disposition, paper, received)


def _record(
    session: Session,
    store: ObjectStore,
    actor: Person,
    written: list[str],
    disposition: Disposition,
    paper: Paper,
    received: ingest.Received,
) -> None:
    """The paper as a record of the destruction dossier, in the step's own transaction."""
    dossier = session.get(Dossier, disposition.dossier_id)
    school = session.get(School, disposition.school_id)
    assert dossier is not None and school is not None
    record = ingest.record_from_stored(
        session,
        store,
        actor,
        written,
        school=school,
        record_type_code="disposition_document",
        title=paper.title,
        school_year=dossier.school_year,
        received=received,
        filename=f"{dossier.file_code}-{paper.step}.pdf",
        dossier=dossier,
        doc_metadata={"typeName": paper.title.split(" ")[0], "organName": school.name, "language": "Tiếng Việt"},
        details={"disposition_id": disposition.id, "step": paper.step},
    )
    disposition.documents = {**(disposition.documents or {}), paper.step: record.id}
