"""The destruction procedure (TT 06/2025/TT-BNV) end to end on both stores: sweep → proposal → council →
decision (signed) → execution with tombstones and biên bản; and each refusal on the way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive import calendar
from archive.models import AuditEvent, Role, Version
from archive.storage import ObjectStore, blob_key, make_store
from flows.settings import Settings
from retention.models import Disposition
from tests.factories import World, lesson_plan_pdf, login, person, register_certificate
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.search.test_search_api import upload

COUNCIL = {
    "members": [
        {"name": "Trần Văn Hòa", "title": "Hiệu trưởng, Chủ tịch"},
        {"name": "Lê Thị Mai", "title": "Cán bộ lưu trữ, Thư ký"},
        {"name": "Phạm Thu", "title": "Tổ trưởng chuyên môn"},
    ],
    "establishment_decision": "Quyết định số 12/QĐ-THA ngày 01/11/2026",
    "minutes": "Hội đồng đã xem xét từng tài liệu trong danh mục.",
    "opinion": "agree",
}


@pytest.fixture
def settings(settings: Settings, pki: TestPKI) -> Settings:
    """Either store (conftest), with the test PKI's root trusted and its TSA."""
    return settings.model_copy(update={"trust_roots": str(pki.root_pem_path()), "tsa_url": pki.tsa_url})


@pytest.fixture
def due(client: TestClient, world: World, session: Session) -> dict[str, str]:
    """Two old lesson plans past their term, swept to review; the archivist."""
    person(session, "lt.mai", Role.archivist, "THA")
    lan = login(client, "gv.lan")
    ids = {
        "a": upload(client, lan, "khbd-a.pdf", lesson_plan_pdf("Cũ A"), school_year="2000-2001"),
        "b": upload(client, lan, "khbd-b.pdf", lesson_plan_pdf("Cũ B"), school_year="2001-2002"),
        "young": upload(client, lan, "khbd-c.pdf", lesson_plan_pdf("Còn hạn"), school_year="2025-2026"),
    }
    assert client.post("/api/v1/retention/sweep", headers=login(client, "ht.hoa")).json()["moved_to_review"] == 2
    return ids


def propose(client: TestClient, ids: list[str]):  # type: ignore[no-untyped-def]
    body = {
        "school_code": "THA",
        "explanation": "Kế hoạch bài dạy đã hết thời hạn bảo quản 10 năm.",
        "items": [{"record_id": i, "explanation": "Hết thời hạn bảo quản"} for i in ids],
    }
    return client.post("/api/v1/dispositions", headers=login(client, "lt.mai"), json=body)


def decide(client: TestClient, disposition_id: int, pki: TestPKI | None = None, cert: str = "principal", **form: str):  # type: ignore[no-untyped-def]
    files = {"pkcs12": ("ht.p12", pki.pkcs12(cert))} if pki else None
    data = {"decision_number": "05/QĐ-THA", **({"password": PKCS12_PASSWORD.decode()} if pki else {}), **form}
    return client.post(
        f"/api/v1/dispositions/{disposition_id}/decision", headers=login(client, "ht.hoa"), data=data, files=files
    )


def test_the_whole_procedure_destroys_lawfully_and_leaves_proof(
    client: TestClient,
    due: dict[str, str],
    session: Session,
    settings: Settings,
    pki: TestPKI,
    principal_certificate: None,
) -> None:
    store: ObjectStore = make_store(settings)
    mai, hoa = login(client, "lt.mai"), login(client, "ht.hoa")
    review = client.get("/api/v1/retention/review", headers=mai, params={"school_code": "THA"}).json()
    assert {r["record_id"] for r in review} == {due["a"], due["b"]}
    proposed = propose(client, [due["a"], due["b"]])
    assert proposed.status_code == 201, proposed.text
    disposition_id = proposed.json()["id"]
    assert set(proposed.json()["documents"]) == {"danh-muc"}
    early = client.post(f"/api/v1/dispositions/{disposition_id}/execute", headers=mai)
    assert early.status_code == 409 and "chưa có quyết định" in early.json()["message"]
    reviewed = client.post(f"/api/v1/dispositions/{disposition_id}/council", headers=mai, json=COUNCIL)
    assert reviewed.status_code == 200 and reviewed.json()["state"] == "reviewed", reviewed.text
    teacher = client.post(
        f"/api/v1/dispositions/{disposition_id}/decision",
        headers=login(client, "gv.lan"),
        data={"decision_number": "05/QĐ-THA"},
    )
    assert teacher.status_code == 403
    decided = decide(client, disposition_id, pki)
    assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "decided" and decided.json()["decision_signed"] is True
    decision_record = decided.json()["documents"]["quyet-dinh"]
    report = client.get(f"/api/v1/records/{decision_record}/signatures", headers=hoa).json()
    assert report["all_valid"], report
    session.commit()
    blobs = {
        rid: session.scalars(select(Version.blob_sha256).where(Version.record_id == rid)).all() for rid in due.values()
    }
    executed = client.post(f"/api/v1/dispositions/{disposition_id}/execute", headers=mai)
    assert executed.status_code == 200, executed.text
    body = executed.json()
    assert body["state"] == "executed" and set(body["documents"]) == {
        "danh-muc",
        "bien-ban-hoi-dong",
        "quyet-dinh",
        "bien-ban-huy",
    }
    for record_id in (due["a"], due["b"]):
        for sha in blobs[record_id]:
            assert not store.exists(blob_key(sha))
        gone = client.get(f"/api/v1/records/{record_id}/content", headers=hoa)
        assert gone.status_code == 410 and "đã được hủy" in gone.json()["message"]
        assert client.get(f"/api/v1/records/{record_id}", headers=hoa).json()["status"] == "destroyed"
    again = client.post(f"/api/v1/dispositions/{disposition_id}/execute", headers=mai)
    assert again.status_code == 409 and "đã được thực hiện" in again.json()["message"]
    tombstone = body["items"][0]["tombstone"]
    assert tombstone["versions"][0]["sha256"] and tombstone["decision_number"] == "05/QĐ-THA"
    assert all(store.exists(blob_key(sha)) for sha in blobs[due["young"]])  # untouched
    # the destruction dossier is permanent, and the biên bản lists what was destroyed
    certificate = body["documents"]["bien-ban-huy"]
    assert client.get(f"/api/v1/records/{certificate}/retention", headers=hoa).json()["permanent"] is True
    pdf = client.get(f"/api/v1/records/{certificate}/content", headers=hoa)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # an evidence package may still name a destroyed record: its metadata and hashes travel, no bytes
    from tests.flows.test_evidence import wait_ready

    asked = client.post(
        "/api/v1/evidence", headers=hoa, json={"title": "Sau khi hủy", "record_ids": [due["a"], due["young"]]}
    )
    assert asked.status_code == 202, asked.text
    assert wait_ready(client, hoa, asked.json()["id"])["state"] == "ready"
    fixity = client.post("/api/v1/fixity", headers=hoa)
    assert fixity.status_code == 202
    session.commit()
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    for step in ("disposition.proposed", "disposition.council_reviewed", "disposition.decided", "disposition.executed"):
        assert step in actions
    assert actions.count("record.destroyed") == 2


def test_the_decision_is_signed_only_with_the_principals_own_certificate(
    client: TestClient, due: dict[str, str], session: Session, pki: TestPKI, principal_certificate: None
) -> None:
    """Another person's certificate is refused with nothing decided; a first use is confirmed, then signs."""
    register_certificate(session, "lt.mai", pki.cert_der("vice"))
    disposition_id = propose(client, [due["a"]]).json()["id"]
    client.post(f"/api/v1/dispositions/{disposition_id}/council", headers=login(client, "lt.mai"), json=COUNCIL)
    theirs = decide(client, disposition_id, pki, cert="vice")
    assert theirs.status_code == 403 and theirs.json()["error"] == "certificate_not_yours", theirs.text
    asked = decide(client, disposition_id, pki, cert="other_school")  # nobody's yet: her first use of it
    assert asked.status_code == 409 and asked.json()["error"] == "certificate_unconfirmed", asked.text
    shown = client.get(f"/api/v1/dispositions/{disposition_id}", headers=login(client, "ht.hoa")).json()
    assert shown["state"] == "reviewed" and not shown["decision_number"]  # nothing decided, nothing signed
    fingerprint = asked.json()["detail"]["certificate"]["fingerprint"]
    confirmed = decide(client, disposition_id, pki, cert="other_school", confirm_certificate=fingerprint)
    assert confirmed.status_code == 200 and confirmed.json()["decision_signed"] is True, confirmed.text
    session.commit()
    assert session.scalar(
        select(AuditEvent).where(AuditEvent.action == "signing_certificate.registered", AuditEvent.actor == "ht.hoa")
    )


def test_a_held_record_cannot_be_proposed_or_destroyed(
    client: TestClient, due: dict[str, str], session: Session, pki: TestPKI
) -> None:
    hoa = login(client, "ht.hoa")
    proposed = propose(client, [due["a"]])
    disposition_id = proposed.json()["id"]
    client.post(f"/api/v1/dispositions/{disposition_id}/council", headers=login(client, "lt.mai"), json=COUNCIL)
    assert decide(client, disposition_id).json()["decision_signed"] is False  # recorded, flagged unsigned
    hold = client.post(
        "/api/v1/holds", headers=hoa, json={"reason": "Khiếu nại của phụ huynh", "record_ids": [due["a"]]}
    )
    assert hold.status_code == 201
    refused = client.post(f"/api/v1/dispositions/{disposition_id}/execute", headers=login(client, "lt.mai"))
    assert refused.status_code == 409 and "Khiếu nại của phụ huynh" in refused.json()["message"]
    hold_b = client.post("/api/v1/holds", headers=hoa, json={"reason": "Tranh chấp", "record_ids": [due["b"]]})
    assert hold_b.status_code == 201
    again = propose(client, [due["b"]])
    assert again.status_code == 409  # b is held (and, being held, it did not even enter review)


def test_a_decision_lapses_after_15_days(client: TestClient, due: dict[str, str], session: Session) -> None:
    mai = login(client, "lt.mai")
    disposition_id = propose(client, [due["a"]]).json()["id"]
    client.post(f"/api/v1/dispositions/{disposition_id}/council", headers=mai, json=COUNCIL)
    assert decide(client, disposition_id).status_code == 200
    session.commit()
    session.execute(
        update(Disposition)
        .where(Disposition.id == disposition_id)
        .values(decided_at=calendar.now() - timedelta(days=16))
    )
    session.commit()
    late = client.post(f"/api/v1/dispositions/{disposition_id}/execute", headers=mai)
    assert late.status_code == 409 and "quyết định lại" in late.json()["message"]
    assert client.get(f"/api/v1/dispositions/{disposition_id}", headers=mai).json()["state"] == "lapsed"
    assert decide(client, disposition_id, decision_number="07/QĐ-THA").status_code == 200
    assert client.post(f"/api/v1/dispositions/{disposition_id}/execute", headers=mai).status_code == 200


def test_proposals_are_checked(client: TestClient, due: dict[str, str]) -> None:
    young = propose(client, [due["young"]])
    assert young.status_code == 409 and "Xem xét hủy" in young.json()["message"]
    teacher = client.post(
        "/api/v1/dispositions",
        headers=login(client, "gv.lan"),
        json={"school_code": "THA", "explanation": "x", "items": [{"record_id": due["a"], "explanation": "x"}]},
    )
    assert teacher.status_code == 403
    disposition_id = propose(client, [due["a"]]).json()["id"]
    few = client.post(
        f"/api/v1/dispositions/{disposition_id}/council",
        headers=login(client, "lt.mai"),
        json={**COUNCIL, "members": COUNCIL["members"][:1]},
    )
    assert few.status_code == 422 and "ít nhất 3" in few.json()["message"]
    twice = propose(client, [due["a"]])
    assert twice.status_code == 409  # already in a proposal


def test_a_step_and_its_document_are_written_together_or_not_at_all(
    client: TestClient, due: dict[str, str], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archive import ingest

    disposition_id = propose(client, [due["a"]]).json()["id"]

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("the document could not be recorded")

    monkeypatch.setattr(ingest, "record_from_stored", broken)
    with pytest.raises(RuntimeError):
        client.post(f"/api/v1/dispositions/{disposition_id}/council", headers=login(client, "lt.mai"), json=COUNCIL)
    monkeypatch.undo()
    shown = client.get(f"/api/v1/dispositions/{disposition_id}", headers=login(client, "lt.mai")).json()
    assert shown["state"] == "proposed" and shown["council"] is None and set(shown["documents"]) == {"danh-muc"}
    session.commit()
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(disposition_id))))
    assert "disposition.proposed" in actions and "disposition.council_reviewed" not in actions
    again = client.post(f"/api/v1/dispositions/{disposition_id}/council", headers=login(client, "lt.mai"), json=COUNCIL)
    assert again.status_code == 200 and set(again.json()["documents"]) == {"danh-muc", "bien-ban-hoi-dong"}


def test_a_handed_over_dossiers_sip_goes_with_its_destroyed_documents(
    client: TestClient,
    due: dict[str, str],
    session: Session,
    settings: Settings,
    pki: TestPKI,
    principal_certificate: None,
) -> None:
    """The SIP kept at a handover holds the documents' bytes: a destruction deletes it with them."""
    from archive.models import HandoverPackage
    from tests.api.test_dossier_package_api import _kept

    thu, hoa, mai = login(client, "vt.thu"), login(client, "ht.hoa"), login(client, "lt.mai")
    year = {"school_code": "THA", "school_year": "2000-2001", "grades": [5], "subjects": ["Toán"]}
    listed = client.post("/api/v1/dossier-lists", headers=thu, json=year)
    assert listed.status_code == 201, listed.text
    assert client.post(f"/api/v1/dossier-lists/{listed.json()['id']}/approval", headers=hoa).status_code == 200
    dossier_id = client.get(f"/api/v1/records/{due['a']}", headers=thu).json()["dossier_id"]
    assert dossier_id, "approving the list filed the old plan"
    assert client.post("/api/v1/dossiers/closing", headers=thu, json={"dossier_ids": [dossier_id]}).status_code == 200
    handed = client.post("/api/v1/dossier-handovers", headers=thu, json={"dossier_ids": [dossier_id]})
    assert handed.status_code == 201, handed.text
    [kept] = _kept(client, thu, handed.json()["id"])
    assert kept["state"] == "ready", kept["error"]
    session.rollback()
    key = session.scalars(select(HandoverPackage.store_key)).one()
    assert key and make_store(settings).exists(key)

    disposition_id = propose(client, [due["a"]]).json()["id"]
    assert client.post(f"/api/v1/dispositions/{disposition_id}/council", headers=mai, json=COUNCIL).status_code == 200
    assert decide(client, disposition_id, pki).status_code == 200
    executed = client.post(f"/api/v1/dispositions/{disposition_id}/execute", headers=mai)
    assert executed.status_code == 200, executed.text
    assert not make_store(settings).exists(key)  # nothing of the destroyed plan is left in the store
    gone = client.get(kept["download"], headers=thu)
    assert gone.status_code == 410 and "hủy" in gone.json()["message"]
    [after] = client.get(f"/api/v1/dossier-handovers/{handed.json()['id']}", headers=thu).json()["packages"]
    assert (after["state"], after["download"]) == ("destroyed", None)
    session.rollback()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "disposition.executed")).one()
    assert event.details["sips_deleted"] == [f"{handed.json()['id']}/{dossier_id}"]
