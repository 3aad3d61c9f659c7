"""A Word plan is reviewed as its PDF rendition and signed both ways, checked by pdfsig and openssl cms.

The rendition job is run here by the test itself (`run_batch`, the worker's own step), so nothing
waits on a background thread: the PDF exists when the teacher submits."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient

from archive import mediatype
from flows.renditions import run as renditions
from flows.settings import Settings
from tests import factories
from tests.conftest import require_tool
from tests.factories import World, login
from tests.pki import TestPKI
from tests.signing.conftest import approve_all, sign, submit, wait_batch
from tests.signing.test_approval_signing import content, nss_db, openssl_verifies, pdfsig


@pytest.fixture
def settings(settings: Settings) -> Settings:
    require_tool("soffice")
    return settings


def plan_docx(title: str) -> bytes:
    """A real Word lesson plan, in Vietnamese."""
    document = docx.Document()
    document.add_heading(title, 1)
    document.add_paragraph("Hoạt động 1: Học sinh thảo luận nhóm về phân số bằng nhau.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def upload_docx(client: TestClient, headers: dict[str, str], title: str, data: bytes) -> dict:  # type: ignore[type-arg]
    import json

    body = json.dumps(factories.meta(title=title, month=11))
    files = {"metadata": (None, body), "file": ("ke-hoach.docx", data)}
    response = client.post("/api/v1/records", headers=headers, files=files)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def make_renditions(client: TestClient) -> int:
    state = client.app.state.hoso  # type: ignore[attr-defined]
    return renditions.run_batch(state, "test-worker")


def test_a_docx_plan_is_reviewed_as_its_pdf_and_signed_with_the_stamp_and_its_p7s(
    client: TestClient, world: World, pki: TestPKI, tmp_path: Path
) -> None:
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    data = plan_docx("Toán 5 — Phân số bằng nhau")
    record = upload_docx(client, lan, "Toán 5 — Phân số bằng nhau", data)
    (v1,) = client.get(f"/api/v1/records/{record['id']}/versions", headers=lan).json()
    assert v1["format_puid"] == "fmt/412" and v1["sha256"] == hashlib.sha256(data).hexdigest()

    assert make_renditions(client) == 1
    assert make_renditions(client) == 0  # done once, never twice
    versions = client.get(f"/api/v1/records/{record['id']}/versions", headers=lan).json()
    assert [(v["kind"], v["media_type"], v["derived_from"]) for v in versions] == [
        ("original", mediatype.DOCX, None),
        ("derived", mediatype.PDF, 1),
    ]
    assert versions[1]["format_puid"], versions[1]  # PRONOM names the PDF's version, e.g. fmt/276
    rendition = content(client, lan, record["id"], 2)
    text = subprocess.run(
        [require_tool("pdftotext"), "-", "-"], input=rendition, capture_output=True, check=True
    ).stdout.decode()
    assert "Phân số bằng nhau" in text  # Vietnamese survives the conversion
    assert content(client, lan, record["id"], 1) == data  # the original is never rewritten

    item = submit(client, lan, record["id"])
    assert item["version"] == 1  # the teacher's file is what was submitted
    approve_all(client, hoa, item["batch_id"])  # the rendition made no "newer version" conflict
    assert sign(client, hoa, item["batch_id"], pki.pkcs12("principal"), level="B-T").status_code == 202
    batch = wait_batch(client, hoa, item["batch_id"])
    assert batch["state"] == "signed" and batch["counts"]["signed"] == 1, batch

    versions = client.get(f"/api/v1/records/{record['id']}/versions", headers=hoa).json()
    assert [(v["kind"], v["derived_from"]) for v in versions] == [("original", None), ("derived", 1), ("signed", 2)]
    stamped = content(client, hoa, record["id"], 3)
    assert stamped.startswith(rendition)  # an incremental update of the PDF the principal reviewed
    path = tmp_path / "stamped.pdf"
    path.write_bytes(stamped)
    assert "Signature is Valid." in pdfsig(path, nss_db(tmp_path, pki))

    check = client.get(f"/api/v1/records/{record['id']}/signatures", headers=hoa, params={"version": 1}).json()
    (sig,) = check["signatures"]
    assert sig["kind"] == "cades_detached" and check["all_valid"], check
    original, p7s = tmp_path / "ke-hoach.docx", tmp_path / "ke-hoach.p7s"
    original.write_bytes(data)
    p7s.write_bytes(client.get(sig["p7s_url"], headers=hoa).content)
    openssl_verifies(p7s, original, pki)

    # the approval record lists both hashes: the Word file and the PDF the principal reviewed
    approval = content(client, hoa, batch["approval_record_id"], 2)
    listed = subprocess.run(
        [require_tool("pdftotext"), "-", "-"], input=approval, capture_output=True, check=True
    ).stdout.decode()
    flat = listed.replace("\n", "")
    assert versions[0]["sha256"][:32] in flat and versions[1]["sha256"][:32] in flat
    assert "Bản PDF đã xem" in listed
