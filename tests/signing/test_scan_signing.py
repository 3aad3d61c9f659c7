"""A phone photo of a paper plan is reviewed as its PDF/A and signed both ways (issue #16: renditions
are made before anything signs them): the PDF/A with the visible stamp, checked by pdfsig, the photo
with a detached CAdES signature, checked by openssl cms. The OCR job is run by the test itself."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import require_tool
from tests.factories import World, login
from tests.flows.test_ocr import encoded, page_image, pdfa_id, post, run_one
from tests.pki import TestPKI
from tests.signing.conftest import approve_all, sign, submit, wait_batch
from tests.signing.test_approval_signing import content, nss_db, openssl_verifies, pdfsig


def test_a_photographed_plan_is_stamped_on_its_pdfa_and_the_photo_keeps_a_p7s(
    client: TestClient, world: World, pki: TestPKI, tmp_path: Path
) -> None:
    require_tool("ocrmypdf")
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    photo = encoded(page_image(300), "JPEG", 300)
    made = post(client, lan, "ke-hoach-viet-tay.jpg", photo, "lesson_plan")
    assert made.status_code == 201, made.text
    record_id = made.json()["id"]
    assert run_one(client) == 1  # its PDF/A, before the principal sees it
    pdfa = content(client, lan, record_id, 2)
    assert pdfa_id(pdfa) == ("2", "B")

    item = submit(client, lan, record_id)
    assert item["version"] == 1  # the teacher's photo is what was submitted
    approve_all(client, hoa, item["batch_id"])
    assert sign(client, hoa, item["batch_id"], pki.pkcs12("principal"), level="B-T").status_code == 202
    batch = wait_batch(client, hoa, item["batch_id"])
    assert batch["state"] == "signed" and batch["counts"]["signed"] == 1, batch

    versions = client.get(f"/api/v1/records/{record_id}/versions", headers=hoa).json()
    assert [(v["kind"], v["derived_from"]) for v in versions] == [("original", None), ("derived", 1), ("signed", 2)]
    stamped = content(client, hoa, record_id, 3)
    assert stamped.startswith(pdfa)  # an incremental update of the PDF/A the principal reviewed
    path = tmp_path / "stamped.pdf"
    path.write_bytes(stamped)
    assert "Signature is Valid." in pdfsig(path, nss_db(tmp_path, pki))
    assert content(client, hoa, record_id, 1) == photo  # the photo itself is never rewritten

    check = client.get(f"/api/v1/records/{record_id}/signatures", headers=hoa, params={"version": 1}).json()
    (sig,) = check["signatures"]
    assert sig["kind"] == "cades_detached" and check["all_valid"], check
    original, p7s = tmp_path / "ke-hoach.jpg", tmp_path / "ke-hoach.p7s"
    original.write_bytes(photo)
    p7s.write_bytes(client.get(sig["p7s_url"], headers=hoa).content)
    openssl_verifies(p7s, original, pki)
