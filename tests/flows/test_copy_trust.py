"""Copies for use that a third party can trust (the review of issue #18 item 5): an authenticated copy
is sealed only with the school's registered seal, is issued once when two issuers click at once,
and goes with its record when the record is destroyed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import AuditEvent, Person
from archive.storage import make_store
from flows import copies as copy_flow
from flows.settings import Settings
from retention.copies import service
from retention.copies.models import CopyRequest, CopyState
from signing import copy_seal, keys
from tests.factories import World, login
from tests.flows.test_copies import ask, inspection, issue, settings
from tests.pki import PKCS12_PASSWORD, TestPKI
from tests.retention.test_disposition import COUNCIL, decide, due, propose

__all__ = ["due", "inspection", "settings"]  # the fixtures, imported for pytest


def actions(session: Session, prefix: str) -> list[str]:
    session.commit()
    return list(
        session.scalars(select(AuditEvent.action).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.seq))
    )


# -- the school's seal (review #3) -----------------------------------------------------------------


def test_an_authenticated_copy_is_sealed_only_with_the_schools_seal(
    client: TestClient,
    inspection: dict,  # type: ignore[type-arg]
    session: Session,
    pki: TestPKI,
) -> None:
    """The review's finding: the clerk of Trường Tiểu học An Bình seals with another school's teacher's
    personal certificate, and it is handed out as authenticated."""
    asked = ask(client, inspection["nam"], inspection["inside"]["id"], "authenticated").json()
    someone_elses = issue(client, inspection["thu"], asked["id"], pki.pkcs12("other_school"))
    subject = someone_elses.json().get("seal_subject") if someone_elses.is_success else None
    assert someone_elses.status_code in (403, 409, 422), f"issued as authenticated, sealed by {subject!r}"
    detail = someone_elses.json()["detail"]
    assert detail["name_matches"] is False and "không phải tên trường" in someone_elses.json()["message"]


def test_a_persons_certificate_is_never_the_schools_seal(
    client: TestClient,
    inspection: dict,  # type: ignore[type-arg]
    session: Session,
    pki: TestPKI,
    settings: Settings,
    principal_certificate: None,
) -> None:
    asked = ask(client, inspection["nam"], inspection["inside"]["id"], "authenticated").json()
    fingerprint = keys.fingerprint(pki.cert_der("principal"))
    personal = issue(client, inspection["thu"], asked["id"], pki.pkcs12("principal"), confirm=fingerprint)
    assert personal.status_code == 422 and personal.json()["error"] == "seal_not_the_schools"
    assert "cá nhân" in personal.json()["message"]
    hoa = login(client, "ht.hoa")
    as_seal = client.post(
        "/api/v1/schools/THA/seal-certificates",
        headers=hoa,
        files={"certificate": ("ht.cer", pki.cert_der("principal"))},
    )
    assert as_seal.status_code == 422  # nor may it be registered as one
    assert actions(session, "school_seal.") == []
    assert service.get(session, asked["id"]).state == CopyState.requested.value
    assert not list(make_store(settings).list("copies/"))  # nothing stored


def test_once_the_school_has_a_seal_only_a_registered_one_seals(
    client: TestClient,
    inspection: dict,  # type: ignore[type-arg]
    session: Session,
    pki: TestPKI,
    school_seal: None,
) -> None:
    asked = ask(client, inspection["nam"], inspection["inside"]["id"], "authenticated").json()
    other = pki.pkcs12("vice")  # trusted, valid, nobody's: still not the school's seal
    refused = issue(client, inspection["thu"], asked["id"], other, confirm=keys.fingerprint(pki.cert_der("vice")))
    assert refused.status_code == 422 and "không phải chứng thư số con dấu đã đăng ký" in refused.json()["message"]
    teacher = client.post(
        "/api/v1/schools/THA/seal-certificates",
        headers=login(client, "gv.lan"),
        files={"certificate": ("vice.cer", pki.cert_der("vice"))},
    )
    assert teacher.status_code == 403
    bad = client.post(
        "/api/v1/schools/THA/seal-certificates", headers=login(client, "ht.hoa"), files={"certificate": ("x", b"x")}
    )
    assert bad.status_code == 422
    renewed = client.post(  # the principal registers a renewed seal
        "/api/v1/schools/THA/seal-certificates",
        headers=login(client, "ht.hoa"),
        files={"certificate": ("vice.cer", pki.cert_der("vice"))},
    )
    assert renewed.status_code == 201 and renewed.json()["how"] == "admin", renewed.text
    listed = client.get("/api/v1/schools/THA/seal-certificates", headers=inspection["thu"]).json()
    assert len(listed) == 2
    done = issue(client, inspection["thu"], asked["id"], other)
    assert done.status_code == 200 and done.json()["state"] == "issued", done.text
    assert actions(session, "school_seal.") == ["school_seal.registered", "school_seal.registered"]
    registered_as_person = client.post(
        f"/api/v1/people/{inspection_person(session, 'vt.thu')}/certificates",
        headers=login(client, "admin1"),
        files={"certificate": ("vice.cer", pki.cert_der("vice"))},
    )
    assert registered_as_person.status_code in (403, 409)  # a school's seal is never also a person's


def inspection_person(session: Session, username: str) -> int:
    found = session.scalar(select(Person.id).where(Person.username == username))
    assert found is not None
    return found


# -- two issuers at once (review #4) ---------------------------------------------------------------


def test_a_copy_issued_meanwhile_is_not_issued_again(
    client: TestClient,
    inspection: dict,  # type: ignore[type-arg]
    session: Session,
    pki: TestPKI,
    school_seal: None,
) -> None:
    """The review's finding: the clerk's check passed, the principal's issue lands first, and the
    clerk's run then records a second copy of the same request."""
    asked = ask(client, inspection["nam"], inspection["inside"]["id"], "authenticated").json()
    session.commit()
    clerk = session.scalar(select(Person).where(Person.username == "vt.thu"))
    assert clerk is not None
    checked = service.pending_for_issue(session, clerk, asked["id"])  # the clerk's click: still pending
    session.commit()
    first = issue(client, inspection["thu"], asked["id"], pki.pkcs12("school_seal"))  # the other click, done first
    assert first.status_code == 200 and first.json()["number"] == "01/2026/BS"
    # the clerk's run, its seal and timestamp made, now records what it made
    made = service.Made(2026, service.next_number(session, checked.school_id, 2026), "copies/x.pdf", "0" * 64, 1)
    try:
        service.issue(session, clerk, checked, made)
    except Exception as e:  # a Conflict is the right answer
        assert getattr(e, "code", "") == "conflict", repr(e)
        return
    session.refresh(checked)
    raise AssertionError(f"issued twice: now number {checked.number}, file {checked.store_key}")


def test_the_losing_issuer_stores_nothing(
    client: TestClient,
    inspection: dict,  # type: ignore[type-arg]
    session: Session,
    settings: Settings,
    pki: TestPKI,
    school_seal: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The principal's click lands while the clerk's copy is being sealed: the clerk gets 409 and the
    file the clerk's run stored is deleted; the principal's copy is the one issued."""
    asked = ask(client, inspection["nam"], inspection["inside"]["id"], "authenticated").json()
    real_sign = copy_seal.sign_copy
    other_click: list[int] = []
    principal = login(client, "ht.hoa")

    def sign_while_the_principal_clicks(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not other_click:  # the clerk's sealing: the principal's whole click happens now
            other_click.append(0)
            other_click[0] = issue(client, principal, asked["id"], pki.pkcs12("school_seal")).status_code
        return real_sign(*args, **kwargs)

    monkeypatch.setattr(copy_seal, "sign_copy", sign_while_the_principal_clicks)
    clerk = session.scalar(select(Person).where(Person.username == "vt.thu"))
    assert clerk is not None
    store = make_store(settings)
    key = keys.from_pkcs12(pki.pkcs12("school_seal"), PKCS12_PASSWORD)
    with pytest.raises(service.AlreadyDecided):
        copy_flow.issue(session, store, settings, clerk, asked["id"], key)
    assert other_click == [200]
    session.commit()
    row = session.get(CopyRequest, asked["id"], populate_existing=True)
    assert row is not None and row.decided_by_id != clerk.id and row.number == "01/2026/BS"
    assert list(store.list("copies/")) == [row.store_key]  # the loser's file is gone
    assert actions(session, "copy.issued") == ["copy.issued"]


# -- destruction (review #2) -----------------------------------------------------------------------


def test_a_destroyed_records_copies_go_with_it(
    client: TestClient,
    due: dict[str, str],
    session: Session,
    settings: Settings,
    pki: TestPKI,
    principal_certificate: None,
    world: World,
) -> None:
    """The review's finding: the destroyed record's BẢN SAO stays in the store and downloadable, and
    its pending authenticated copy fails with a 500 when issued."""
    lan = login(client, "gv.lan")
    ask = {"record_id": due["a"], "purpose": "Nộp hồ sơ thi đua"}
    copy = client.post("/api/v1/copies", headers=lan, json=ask | {"kind": "copy"})
    assert copy.status_code == 201, copy.text
    pending = client.post("/api/v1/copies", headers=lan, json=ask | {"kind": "authenticated"})
    assert pending.status_code == 201, pending.text
    reading = client.post("/api/v1/copies", headers=lan, json=ask | {"kind": "read", "read_until": "2026-11-20"})
    assert reading.status_code == 201, reading.text
    assert client.get(f"/api/v1/copies/{reading.json()['id']}/pages/1.png", headers=lan).status_code == 200
    preview = Path(settings.tmp_dir) / "previews" / f"{copy.json()['original_sha256']}.pdf"
    assert preview.exists()  # the read copy's pages come from the verified local copy
    disposition = propose(client, [due["a"]]).json()["id"]
    mai = login(client, "lt.mai")
    assert client.post(f"/api/v1/dispositions/{disposition}/council", headers=mai, json=COUNCIL).is_success
    assert decide(client, disposition, pki).is_success
    executed = client.post(f"/api/v1/dispositions/{disposition}/execute", headers=mai)
    assert executed.status_code == 200, executed.text
    assert client.get(f"/api/v1/records/{due['a']}/content", headers=lan).status_code == 410
    session.commit()
    row = session.get(CopyRequest, copy.json()["id"])
    assert row is not None and row.store_key
    still_stored = make_store(settings).exists(row.store_key)
    download = client.get(f"/api/v1/copies/{copy.json()['id']}/content", headers=lan)
    hoa = login(client, "ht.hoa")
    issued = client.post(
        f"/api/v1/copies/{pending.json()['id']}/issue",
        headers=hoa,
        data={"key_source": "pkcs12", "password": PKCS12_PASSWORD.decode()},
        files={"pkcs12": ("seal.p12", pki.pkcs12("principal"))},
    )
    wrong = []
    if download.status_code != 410:
        wrong.append(f"the destroyed record's BẢN SAO still downloads: {download.status_code}")
    if still_stored:
        wrong.append(f"the destroyed record's copy is still in the store: {row.store_key}")
    if issued.status_code not in (409, 410) or "blobs/sha256" in issued.text:
        wrong.append(f"issuing after destruction: {issued.status_code} {issued.json()['message']}")
    assert not wrong, wrong
    assert "đã được hủy" in download.json()["message"] and "copies/" not in download.text
    page = client.get(f"/api/v1/copies/{reading.json()['id']}/pages/1.png", headers=lan)
    assert page.status_code == 410
    assert not preview.exists()  # this machine's page-image copy went with the blob
    session.expire_all()
    states = {c.id: c.state for c in session.scalars(select(CopyRequest).where(CopyRequest.record_id == due["a"]))}
    assert set(states.values()) == {CopyState.voided.value}
    assert actions(session, "copy.voided") == ["copy.voided"] * 3
