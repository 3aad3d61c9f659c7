"""The signer is the person the stamp names: another person's certificate never signs, on any key source.

The signing world (tests/signing/conftest.py) registers the test PKI's "principal" certificate to
ht.hoa and "vice" to pht.thu; each test here presents one that is not the signer's, and checks
that nothing was signed (no signed version, no signature row, the batch still open).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from archive.models import AuditEvent, Person, Version
from flows.settings import Settings
from signing import ownership
from signing.client import TokenDigestSigner
from signing.models import PreparedSignature, Signature, SigningCertificate
from tests import factories
from tests.api.test_cli import hoso, hoso_env
from tests.api.test_server_process import Server
from tests.csc_service import PIN, running_csc
from tests.factories import login
from tests.pki import TestPKI
from tests.signing.conftest import approve_all, sign, wait_batch
from tests.softhsm import Token


def nothing_signed(client: TestClient, session: Session, headers: dict[str, str], batch_id: str) -> None:
    session.commit()
    assert session.scalar(select(func.count()).select_from(Version).where(Version.kind == "signed")) == 0
    assert session.scalar(select(func.count()).select_from(Signature)) == 0
    assert session.scalar(select(func.count()).select_from(PreparedSignature)) == 0
    batch = client.get(f"/api/v1/approvals/{batch_id}", headers=headers).json()
    assert batch["state"] == "open" and batch["counts"]["signed"] == 0, batch


def registrations(session: Session, username: str) -> list[SigningCertificate]:
    session.commit()
    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None
    return ownership.registered_to(session, person)


def audited(session: Session, action: str) -> list[AuditEvent]:
    session.commit()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def unregistered(session: Session, world: factories.World) -> None:
    """Nobody's certificate is registered yet (a school that starts signing today)."""
    session.execute(delete(SigningCertificate))
    session.commit()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- PKCS#12 (server-side run) ---------------------------------------------------------------------


def test_another_persons_certificate_is_refused_and_nothing_is_signed(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    pki: TestPKI,
    session: Session,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    refused = sign(client, hoa, batch_id, pki.pkcs12("vice"), level="B-B")  # pht.thu's certificate
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["error"] == "certificate_not_yours"
    assert "người khác" in body["message"] and "another person" in body["message_en"]
    assert "pht.thu" not in refused.text  # the owner is not named to whoever holds their .p12
    nothing_signed(client, session, hoa, batch_id)
    # her own certificate still signs, and the stamp names her
    assert sign(client, hoa, batch_id, pki.pkcs12("principal"), level="B-B").status_code == 202
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"


def test_first_use_needs_the_signers_confirmation_then_registers_it(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    pki: TestPKI,
    session: Session,
    unregistered: None,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    p12 = pki.pkcs12("principal")
    asked = sign(client, hoa, batch_id, p12, level="B-B")
    assert asked.status_code == 409, asked.text
    body = asked.json()
    assert body["error"] == "certificate_unconfirmed"
    assert "Đây là chứng thư số của tôi" in body["message"] and "first time" in body["message_en"]
    shown = body["detail"]["certificate"]
    expected = ownership.fingerprint(ownership.load_certificate(pki.cert_der("principal")))
    assert shown["fingerprint"] == expected and shown["common_name"] == "Nguyễn Thị Hoa"
    assert "Hoso Test Issuing CA" in shown["issuer"] and shown["serial"] and shown["not_after"] > shown["not_before"]
    # her account's name (Ht.Hoa) is not the certificate's: said, for her to accept explicitly
    assert body["detail"]["name_matches"] is False and "khác tên của bạn" in body["message"]
    nothing_signed(client, session, hoa, batch_id)
    assert registrations(session, "ht.hoa") == []

    wrong = sign(client, hoa, batch_id, p12, level="B-B", confirm_certificate="00" * 32)
    assert wrong.status_code == 409 and wrong.json()["error"] == "certificate_unconfirmed"
    nothing_signed(client, session, hoa, batch_id)

    confirmed = sign(client, hoa, batch_id, p12, level="B-B", confirm_certificate=expected.upper())
    assert confirmed.status_code == 202, confirmed.text
    assert wait_batch(client, hoa, batch_id)["state"] == "signed"
    (registered,) = registrations(session, "ht.hoa")
    assert registered.fingerprint == expected and registered.how == "first_use" and registered.name_differs
    (event,) = [e for e in audited(session, "signing_certificate.registered") if e.details["how"] == "first_use"]
    assert event.actor == "ht.hoa" and event.details["fingerprint"] == expected and event.details["person"] == "ht.hoa"
    # somebody else cannot take it over by "confirming" it
    thu = session.scalar(select(Person).where(Person.username == "pht.thu"))
    assert thu is not None
    with pytest.raises(ownership.CertificateNotYours):
        ownership.require_signer(session, thu, ownership.load_certificate(pki.cert_der("principal")), expected)
    assert [r.common_name for r in registrations(session, "pht.thu")] == []


def test_a_revoked_registration_refuses(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    pki: TestPKI,
    session: Session,
    world: factories.World,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    admin = login(client, "admin1")
    (mine,) = registrations(session, "ht.hoa")
    revoked = client.post(f"/api/v1/certificates/{mine.id}/revoke", headers=admin, json={"reason": "mất USB token"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] and revoked.json()["revoked_reason"] == "mất USB token"
    refused = sign(client, hoa, batch_id, pki.pkcs12("principal"), level="B-B")
    assert refused.status_code == 403 and "thu hồi" in refused.json()["message"], refused.text
    assert "mất USB token" in refused.json()["message"]  # her own registration: she is told why
    nothing_signed(client, session, hoa, batch_id)
    # a revoked certificate cannot come back by confirming it, nor be registered again
    fingerprint = mine.fingerprint
    again = sign(client, hoa, batch_id, pki.pkcs12("principal"), confirm_certificate=fingerprint)
    assert again.status_code == 403
    files = {"certificate": ("hoa.cer", pki.cert_der("principal"))}
    registered = client.post(f"/api/v1/people/{world.principal.id}/certificates", headers=admin, files=files)
    assert registered.status_code == 409


# -- the administrator -----------------------------------------------------------------------------


def test_an_admin_registers_and_revokes_a_certificate(
    client: TestClient, world: factories.World, pki: TestPKI, session: Session, unregistered: None
) -> None:
    admin, hoa, lan = login(client, "admin1"), login(client, "ht.hoa"), login(client, "gv.lan")
    url = f"/api/v1/people/{world.principal.id}/certificates"
    pem = ownership.load_certificate(pki.cert_der("principal"))
    pem_bytes = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(pem.dump()) + b"-----END CERTIFICATE-----\n"

    assert client.post(url, headers=hoa, files={"certificate": ("c.pem", pem_bytes)}).status_code == 403
    bad = client.post(url, headers=admin, files={"certificate": ("c.pem", b"not a certificate")})
    assert bad.status_code == 422 and "X.509" in bad.json()["message"]
    made = client.post(url, headers=admin, files={"certificate": ("c.pem", pem_bytes)})
    assert made.status_code == 201, made.text
    row = made.json()
    assert row["person"] == "ht.hoa" and row["how"] == "admin" and row["common_name"] == "Nguyễn Thị Hoa"
    assert row["registered_by"] == "admin1" and row["revoked_by"] is None
    assert row["fingerprint"] == ownership.fingerprint(pem) and row["revoked_at"] is None
    twice = client.post(url, headers=admin, files={"certificate": ("c.der", pki.cert_der("principal"))})
    assert twice.status_code == 409
    to_other = f"/api/v1/people/{world.clerk.id}/certificates"
    taken = client.post(to_other, headers=admin, files={"certificate": ("c.der", pki.cert_der("principal"))})
    assert taken.status_code == 409 and "người khác" in taken.json()["message"]

    assert [c["id"] for c in client.get(url, headers=hoa).json()] == [row["id"]]  # she sees her own
    assert client.get(url, headers=lan).status_code == 403  # a teacher does not see hers
    no_reason = client.post(f"/api/v1/certificates/{row['id']}/revoke", headers=admin, json={"reason": ""})
    assert no_reason.status_code == 422
    assert client.post(f"/api/v1/certificates/{row['id']}/revoke", headers=lan, json={"reason": "x"}).status_code == 403
    done = client.post(f"/api/v1/certificates/{row['id']}/revoke", headers=admin, json={"reason": "đổi chứng thư"})
    assert done.status_code == 200 and done.json()["revoked_reason"] == "đổi chứng thư"
    assert done.json()["revoked_by"] == "admin1"
    twice_revoked = client.post(f"/api/v1/certificates/{row['id']}/revoke", headers=admin, json={"reason": "x"})
    assert twice_revoked.status_code == 409
    (registered,) = [e for e in audited(session, "signing_certificate.registered") if e.actor == "admin1"]
    (revoked,) = audited(session, "signing_certificate.revoked")
    assert registered.actor == "admin1" and registered.details["person"] == "ht.hoa"
    assert revoked.actor == "admin1" and revoked.details["reason"] == "đổi chứng thư"


def test_the_admin_page_registers_and_revokes(
    client: TestClient, world: factories.World, pki: TestPKI, session: Session, unregistered: None
) -> None:
    from tests.web.test_pages_http import csrf_of, page_login

    page_login(client, "admin1")
    page = f"/quan-tri/nguoi-dung/{world.principal.id}/chung-thu-so"
    assert page in client.get("/quan-tri").text
    shown = client.get(page)
    assert shown.status_code == 200 and "Chưa có chứng thư số nào được đăng ký." in shown.text
    files = {"certificate": ("hoa.cer", pki.cert_der("principal"))}
    posted = client.post(page, data={"csrf_token": csrf_of(shown.text)}, files=files, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    listed = client.get(page)
    assert "Nguyễn Thị Hoa" in listed.text and "quản trị viên đăng ký" in listed.text
    (row,) = registrations(session, "ht.hoa")
    assert row.fingerprint in listed.text
    revoke = f"/quan-tri/chung-thu-so/{row.id}/thu-hoi"
    empty = client.post(revoke, data={"csrf_token": csrf_of(listed.text), "reason": " "})
    assert empty.status_code == 422 and "Ghi lý do thu hồi." in empty.text
    done = client.post(revoke, data={"csrf_token": csrf_of(listed.text), "reason": "mất token"}, follow_redirects=False)
    assert done.status_code == 303, done.headers
    assert "Đã thu hồi" in client.get(page).text and registrations(session, "ht.hoa")[0].revoked_at is not None


def test_the_approval_page_shows_the_confirmation_step(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    pki: TestPKI,
    session: Session,
    unregistered: None,
) -> None:
    from tests.web.test_pages_http import csrf_of, page_login

    approve_all(client, month["hoa"], month["batch_id"])
    page_login(client, "ht.hoa")
    queue = client.get("/duyet?period=2026-11")
    form = {"csrf_token": csrf_of(queue.text), "key_source": "pkcs12", "password": "mat-khau-p12"}
    files = {"pkcs12": ("hoa.p12", pki.pkcs12("principal"))}
    asked = client.post(f"/duyet/{month['batch_id']}/ky", data=form, files=files)
    fingerprint = ownership.fingerprint(ownership.load_certificate(pki.cert_der("principal")))
    assert "Đây là chứng thư số của tôi" in asked.text and fingerprint in asked.text
    assert f'name="confirm_certificate" value="{fingerprint}"' in asked.text
    assert "khác tên của bạn" in asked.text  # Ht.Hoa is not Nguyễn Thị Hoa
    nothing_signed(client, session, month["hoa"], month["batch_id"])
    signed = client.post(
        f"/duyet/{month['batch_id']}/ky",
        data={**form, "confirm_certificate": fingerprint},
        files=files,
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    assert wait_batch(client, month["hoa"], month["batch_id"])["state"] == "signed"


# -- PKCS#11 on the server, CSC, the client-side placement ------------------------------------------


def test_the_servers_token_holding_another_persons_certificate_is_refused(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    settings: Settings,
    tokens: dict[str, Token],
    session: Session,
) -> None:
    token = tokens["principal"]  # holds ht.hoa's certificate
    settings.pkcs11_module, settings.pkcs11_token_label = token.module, token.label  # the app holds this object
    vice = login(client, "pht.thu")
    approve_all(client, vice, month["batch_id"])
    data = {"key_source": "pkcs11", "pin": token.pin, "level": "B-B"}
    refused = client.post(f"/api/v1/approvals/{month['batch_id']}/sign", headers=vice, data=data)
    assert refused.status_code == 403 and refused.json()["error"] == "certificate_not_yours", refused.text
    nothing_signed(client, session, vice, month["batch_id"])


def test_a_remote_credential_of_another_person_is_refused_before_its_pin_is_used(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    settings: Settings,
    pki: TestPKI,
    session: Session,
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    with running_csc(pki) as csc:
        settings.csc_url = csc.url
        data = {"key_source": "csc", "credential_id": "hoso/vice", "pin": PIN, "level": "B-B"}
        refused = client.post(f"/api/v1/approvals/{batch_id}/sign", headers=hoa, data=data)
        assert refused.status_code == 403 and refused.json()["error"] == "certificate_not_yours", refused.text
        # unregistered: asked to confirm, still before the PIN goes out
        session.execute(delete(SigningCertificate))
        session.commit()
        own = {**data, "credential_id": "hoso/principal"}
        asked = client.post(f"/api/v1/approvals/{batch_id}/sign", headers=hoa, data=own)
        assert asked.status_code == 409 and asked.json()["error"] == "certificate_unconfirmed", asked.text
        assert csc.calls["credentials/authorize"] == 0 and csc.calls["signatures/signHash"] == 0
        nothing_signed(client, session, hoa, batch_id)
        fingerprint = asked.json()["detail"]["certificate"]["fingerprint"]
        data = {**data, "credential_id": "hoso/principal", "confirm_certificate": fingerprint}
        assert client.post(f"/api/v1/approvals/{batch_id}/sign", headers=hoa, data=data).status_code == 202
        assert wait_batch(client, hoa, batch_id)["state"] == "signed"
    assert [r.how for r in registrations(session, "ht.hoa")] == ["first_use"]


def test_the_client_side_placement_refuses_another_persons_certificate(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    pki: TestPKI,
    tokens: dict[str, Token],
    session: Session,
) -> None:
    from signing import token as token_module

    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    url = f"/api/v1/approvals/{batch_id}/prepare"
    chain = [b64(pki.cert_der("interm"))]
    refused = client.post(url, headers=hoa, json={"certificate": b64(pki.cert_der("vice")), "chain": chain})
    assert refused.status_code == 403 and refused.json()["error"] == "certificate_not_yours", refused.text
    nothing_signed(client, session, hoa, batch_id)

    # prepared with her own certificate, then its registration revoked: the values coming back are refused
    tok = tokens["principal"]
    with TokenDigestSigner(token_module.TokenSpec(tok.module, tok.label), tok.pin) as signer:
        body = {"certificate": b64(signer.certificate.dump()), "chain": [b64(c.dump()) for c in signer.chain]}
        prepared = client.post(url, headers=hoa, json=body)
        assert prepared.status_code == 200, prepared.text
        values = [
            {"id": i["id"], "signature": b64(signer.sign_digest(bytes.fromhex(i["digest"])))}
            for i in prepared.json()["items"]
        ]
    (mine,) = registrations(session, "ht.hoa")
    ownership.revoke(session, mine.id, by=session.get(Person, mine.person_id), reason="mất USB token")  # type: ignore[arg-type]
    done = client.post(f"/api/v1/approvals/{batch_id}/complete", headers=hoa, json={"signatures": values})
    assert done.status_code == 403 and "thu hồi" in done.json()["message"], done.text
    session.commit()
    assert session.scalar(select(func.count()).select_from(Version).where(Version.kind == "signed")) == 0


def test_sign_month_from_the_pc_asks_to_confirm_a_first_use(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    settings: Settings,
    tokens: dict[str, Token],
    session: Session,
    tmp_path: Path,
    unregistered: None,
) -> None:
    """`hoso sign-month --server` with a token whose certificate nobody registered: refused without a yes."""
    approve_all(client, month["hoa"], month["batch_id"])
    tok = tokens["principal"]
    server = Server(settings, tmp_path / "server.log")
    server.start()
    try:
        args = ["sign-month", "--server", server.url, "--school", "THA", "--period", "2026-11", "--as", "ht.hoa"]
        args += ["--pkcs11-module", tok.module, "--token-label", tok.label, "--level", "B-B"]
        env = hoso_env(settings, HOSO_PASSWORD=factories.PASSWORD, HOSO_PKCS11_PIN=tok.pin)
        asked = hoso(settings, *args, env=env)  # no TTY: no question to answer, the way on is printed
        assert asked.returncode == 1, asked.stdout + asked.stderr
        found = re.findall(r"(?:[0-9A-F]{2}:){31}[0-9A-F]{2}", asked.stderr)
        assert found, asked.stdout + asked.stderr
        fingerprint = found[-1]
        assert "--confirm-certificate" in asked.stderr and "Nguyễn Thị Hoa" in asked.stderr
        nothing_signed(client, session, month["hoa"], month["batch_id"])
        ok = hoso(settings, *args, "--confirm-certificate", fingerprint, env=env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
    finally:
        server.stop()
    assert wait_batch(client, month["hoa"], month["batch_id"])["state"] == "signed"
    assert [r.fingerprint for r in registrations(session, "ht.hoa")] == [fingerprint]


def test_sign_month_on_the_server_refuses_another_persons_p12_and_confirms_a_first_use(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    settings: Settings,
    pki: TestPKI,
    session: Session,
) -> None:
    approve_all(client, month["hoa"], month["batch_id"])
    args = ["sign-month", "--school", "THA", "--period", "2026-11", "--as", "ht.hoa", "--level", "B-B"]
    env = hoso_env(settings, HOSO_PKCS12_PASSWORD="mat-khau-p12")
    theirs = hoso(settings, *args, "--pkcs12", str(pki.pkcs12_file("vice")), env=env)
    assert theirs.returncode == 1 and "người khác" in theirs.stderr, theirs.stderr
    nothing_signed(client, session, month["hoa"], month["batch_id"])
    session.execute(delete(SigningCertificate).where(SigningCertificate.common_name == "Nguyễn Thị Hoa"))
    session.commit()
    p12 = str(pki.pkcs12_file("principal"))
    unconfirmed = hoso(settings, *args, "--pkcs12", p12, env=env)
    assert unconfirmed.returncode == 1 and "--confirm-certificate" in unconfirmed.stderr, unconfirmed.stderr
    nothing_signed(client, session, month["hoa"], month["batch_id"])
    fingerprint = ownership.fingerprint(ownership.load_certificate(pki.cert_der("principal")))
    ok = hoso(settings, *args, "--pkcs12", p12, "--confirm-certificate", fingerprint, env=env)
    assert ok.returncode == 0, ok.stderr
    assert [r.how for r in registrations(session, "ht.hoa")] == ["first_use"]


# -- the facts read from a certificate --------------------------------------------------------------


def _certificate(subject: list[pyca_x509.NameAttribute]) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = pyca_x509.Name(subject)
    now = datetime.now(UTC)
    cert = (
        pyca_x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1234ABCD)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_the_national_id_is_read_from_uid_or_serial_number_and_never_invented() -> None:
    cn = pyca_x509.NameAttribute(NameOID.COMMON_NAME, "Nguyễn Thị Hoa")
    uid = _certificate([cn, pyca_x509.NameAttribute(NameOID.USER_ID, "CCCD:001234567890")])
    serial = _certificate([cn, pyca_x509.NameAttribute(NameOID.SERIAL_NUMBER, "CMND:123456789")])
    bare = _certificate([cn, pyca_x509.NameAttribute(NameOID.SERIAL_NUMBER, "001234567890")])
    tax = _certificate([cn, pyca_x509.NameAttribute(NameOID.USER_ID, "MST:0312345678")])
    none = _certificate([cn])
    assert ownership.facts(ownership.load_certificate(uid)).national_id == "CCCD:001234567890"
    assert ownership.facts(ownership.load_certificate(serial)).national_id == "CMND:123456789"
    assert ownership.facts(ownership.load_certificate(bare)).national_id == "001234567890"
    assert ownership.facts(ownership.load_certificate(tax)).national_id is None
    assert ownership.facts(ownership.load_certificate(none)).national_id is None
    facts = ownership.facts(ownership.load_certificate(none))
    assert facts.serial == "1234abcd" and facts.common_name == "Nguyễn Thị Hoa" and len(facts.fingerprint) == 95


def test_a_different_name_is_a_different_name() -> None:
    import unicodedata

    assert ownership.same_name("Nguyễn Thị Hoa", "nguyễn  thị HOA")
    assert ownership.same_name("Nguyễn Thị Hoa", unicodedata.normalize("NFD", "Nguyễn Thị Hoa"))
    assert not ownership.same_name("Nguyễn Thị Hoa", "Nguyen Thi Hoa")  # diacritics are not ignored
    assert not ownership.same_name("Nguyễn Thị Hòa", "Nguyễn Thị Hoa")
    assert not ownership.same_name("", "")
