"""The approval record of a batch: written once when the items are done, signed last, closing the batch.

What it says is `signing.approval_record`; this is how it is stored: as a record of type
`approval_record` (version 1, unsigned, generated once even if the run resumes), then its signed
copy as version 2 in the transaction that marks the batch signed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from archive import audit, ingest
from archive.db import utcnow
from archive.exceptions import HosoError
from archive.models import Record, RecordStatus, RecordType, VersionKind, new_uuid
from signing import approval_record, pades, periods, workflow
from signing.batch.persist import SigningStore, signature_row, versions_of
from signing.models import ApprovalBatch, BatchState, SignatureKind


def write_record(run: SigningStore, when: datetime) -> tuple[str, str]:
    """The approval record, generated once per batch (a resumed run finds it): its record id and blob."""
    batch = run.session.get(ApprovalBatch, run.batch_id, populate_existing=True)
    assert batch is not None
    if batch.approval_record_id:
        record = run.session.get(Record, batch.approval_record_id)
        assert record is not None
        first = next(v for v in versions_of(run.session, record.id) if v.number == 1)
        run.session.commit()
        return record.id, first.blob_sha256
    items = workflow.items_of(run.session, run.batch_id)
    rows = []
    for item in items:
        version = next(v for v in versions_of(run.session, item.record_id) if v.number == item.version_number)
        r = item.record
        rows.append(
            approval_record.Row(
                teacher=r.author.full_name,
                subject=r.subject or "",
                grade=(r.class_name or (str(r.grade) if r.grade else "")),
                title=r.title,
                decision=item.decision,
                sign_state=item.sign_state,
                sha256=version.blob_sha256,
                comment=item.comment,
                record_type=r.record_type.name_vi,
                stamp_place=item.stamp_place,
                rendition_sha256=run.renditions_signed(item),
            )
        )
    pdf = approval_record.render(
        school=batch.school.name,
        period=batch.period,
        signer=run.key.certificate.subject.native.get("common_name", ""),
        signer_title=batch.signer_title or "",
        when=when,
        rows=rows,
        round_=batch.round,
    )
    received = ingest.store_bytes(run.store, run.settings.tmp_dir, pdf, len(pdf) + 1)
    with ingest.versioning(run.session, run.store) as written:
        batch = run.hold_batch()
        actor = run.actor()
        rtype = run.session.scalar(select(RecordType).where(RecordType.code == "approval_record"))
        if rtype is None:
            raise HosoError(
                "Thiếu loại hồ sơ 'approval_record' (chạy hoso db upgrade).",
                "Record type 'approval_record' is missing (run hoso db upgrade).",
            )
        now = utcnow()
        record = Record(
            id=new_uuid(),
            school_id=batch.school_id,
            record_type_id=rtype.id,
            author_id=actor.id,
            title=approval_record.title([row.record_type for row in rows], batch.period, batch.round),
            school_year=periods.school_year_of(batch.period),
            month=periods.month_of(batch.period),
            status=RecordStatus.approved.value,
            doc_metadata={"typeName": "Biên bản", "organName": batch.school.name, "language": "vi"},
            current_version=0,
            created_at=now,
            updated_at=now,
        )
        record.school, record.record_type, record.author = batch.school, rtype, actor
        run.session.add(record)
        run.session.flush()
        ingest.commit_version(
            run.session,
            run.store,
            actor,
            record,
            received,
            f"bien-ban-duyet-{batch.period}.pdf",
            written,
            "record.created",
            {"title": record.title, "batch_id": batch.id},
        )
        batch.approval_record_id = record.id
    return record.id, received.sha256


def close_batch(run: SigningStore, record_id: str, signed: pades.Signed) -> None:
    """The signed approval record stored as its second version; the batch is signed and its lease released."""
    received = ingest.store_bytes(run.store, run.settings.tmp_dir, signed.pdf, len(signed.pdf) + 1)
    with ingest.versioning(run.session, run.store) as written:
        batch = run.claim(f"record:{run.batch_id}")
        actor = run.actor()
        record = run.session.get(Record, record_id, populate_existing=True)
        assert record is not None
        if record.current_version == 1:
            version = ingest.commit_version(
                run.session,
                run.store,
                actor,
                record,
                received,
                f"bien-ban-duyet-{batch.period}-da-ky.pdf",
                written,
                "record.signed",
                {"batch_id": batch.id, "level": batch.level},
                kind=VersionKind.signed,
            )
            run.session.add(
                signature_row(
                    record.id,
                    version.number,
                    SignatureKind.pades,
                    None,
                    batch,
                    run.key,
                    batch.level or "B-B",
                    signed.signed_at,
                    {"page": signed.page_index, "box": signed.box, "stamp": signed.place.value},
                )
            )
        batch.state = BatchState.signed.value
        batch.finished_at = utcnow()
        batch.lease_owner = None
        batch.lease_until = None
        counts = workflow.counts(run.session, batch.id)
        audit.append(
            run.session,
            actor=actor,
            action="approval_batch.signed",
            object_type="approval_batch",
            object_id=batch.id,
            school_id=batch.school_id,
            details={**counts, "approval_record_id": record_id, "level": batch.level},
        )
    run.report.state = BatchState.signed.value
    run.report.approval_record_id = record_id
