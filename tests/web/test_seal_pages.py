"""The school's seal certificates page: the principal registers a renewed seal, the clerk sees the
list without the form, nobody else sees it, and a file that is no certificate is refused beside the
form with nothing registered."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signing import keys
from signing.models import SchoolSeal
from tests.factories import World
from tests.pki import TestPKI
from tests.web.test_admin_pages import post_form
from tests.web.test_pages_http import page_login

PAGE = "/truong/THA/con-dau"


def test_the_principal_registers_the_schools_renewed_seal_on_its_page(
    client: TestClient, world: World, session: Session, pki: TestPKI, principal_certificate: None
) -> None:
    page_login(client, "ht.hoa")
    empty = client.get(PAGE)
    assert empty.status_code == 200 and "Trường chưa đăng ký chứng thư số con dấu nào." in empty.text
    junk = post_form(client, PAGE, PAGE, {}, files={"certificate": ("con-dau.cer", b"khong phai chung thu")})
    assert junk.status_code == 422 and 'aria-invalid="true"' in junk.text
    person = post_form(client, PAGE, PAGE, {}, files={"certificate": ("ht.cer", pki.cert_der("principal"))})
    assert person.status_code == 422 and "cá nhân" in person.text  # registered to ht.hoa: a person's, never a seal
    session.rollback()
    assert session.scalar(select(func.count()).select_from(SchoolSeal)) == 0  # nothing registered
    made = post_form(client, PAGE, PAGE, {}, files={"certificate": ("con-dau.cer", pki.cert_der("school_seal"))})
    assert made.status_code == 303, made.text[:500]
    shown = client.get(made.headers["location"]).text
    assert "Đã lưu." in shown and keys.fingerprint(pki.cert_der("school_seal")) in shown
    assert "đăng ký bằng tệp chứng thư: ht.hoa" in shown

    client.cookies.clear()
    page_login(client, "vt.thu")  # the clerk keeps the seal: she sees it, the principal registers it
    clerk = client.get(PAGE)
    assert clerk.status_code == 200 and keys.fingerprint(pki.cert_der("school_seal")) in clerk.text
    assert 'name="certificate"' not in clerk.text
    assert "/truong/THA/con-dau" in client.get("/ban-sao").text
    for outsider in ("gv.lan", "gv.binh"):
        client.cookies.clear()
        page_login(client, outsider)
        assert client.get(PAGE).status_code == 403
