"""A closed dossier's package in TT 05/2025 form: its layout and file names, its EAD3 and TT 05
records valid against the schemas inside it, `hoso verify` VALID and eark-validator satisfied; a
forged package (a byte changed, a file added, a METS checksum edited, a file renamed) is INVALID
with the fault named; an open, empty or other school's dossier is refused."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import xsd
from archive.exceptions import Conflict, Forbidden, InvalidInput
from archive.models import AuditEvent, Dossier, DossierState, Person, Role
from archive.storage import make_store
from flows.dossier_package import build
from flows.evidence.verify import Outcome, verify
from flows.settings import Settings
from retention.dossiers import approval, closing, yearly_list
from tests.factories import World, login, person
from tests.flows.test_evidence import EARK_PYTHON, ROOT
from tests.flows.test_evidence import settings as settings  # noqa: F401  (the test PKI's seal and TSA)
from tests.pki import TestPKI
from tests.signing.conftest import approve_all, sign, submit, upload_plan, wait_batch

MATH = "Kế hoạch bài dạy môn Toán khối 5, năm học 2026-2027"


def _year(session: Session, world: World, settings: Settings) -> dict[str, Dossier]:
    made = yearly_list.generate(
        session, world.clerk, school_code="THA", school_year="2026-2027", grades=[5], subjects=["Toán"]
    )
    approval.approve(session, make_store(settings), settings.tmp_dir, world.principal, made.id, None)
    return {d.title: d for d in session.scalars(select(Dossier).where(Dossier.list_id == made.id))}


@pytest.fixture
def closed(
    client: TestClient, world: World, session: Session, settings: Settings, pki: TestPKI, principal_certificate: None
) -> Dossier:
    """The year's math lesson plans, two signed by the principal (B-LT), closed by the clerk."""
    dossiers = _year(session, world, settings)
    lan, hoa = login(client, "gv.lan"), login(client, "ht.hoa")
    batch = ""
    for title in ("Toán 5 — Phân số", "Toán 5 — Số thập phân"):
        record = upload_plan(client, lan, title, school_year="2026-2027", grade=5, subject="Toán")
        batch = submit(client, lan, record["id"])["batch_id"]
    approve_all(client, hoa, batch)
    assert sign(client, hoa, batch, pki.pkcs12("principal"), level="B-LT").status_code == 202
    assert wait_batch(client, hoa, batch)["state"] == "signed"
    session.rollback()
    math = dossiers[MATH]
    clerk = session.get(Person, world.clerk.id)
    assert clerk is not None
    closing.close(session, make_store(settings), clerk, [math.id])
    return math


def _package(session: Session, settings: Settings, world: World, dossier_id: str, tmp: Path, kind: str = "AIP") -> Path:
    clerk = session.get(Person, world.clerk.id)
    assert clerk is not None
    built = build.build(session, settings, make_store(settings), clerk, dossier_id, kind, tmp)
    target = tmp / f"{kind}.zip"
    built.path.rename(target)
    return target


def _inside(path: Path) -> tuple[str, dict[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        root = names[0].split("/", 1)[0]
        return root, {n[len(root) + 1 :]: z.read(n) for n in names}


def test_the_package_has_the_tt05_layout_validates_and_verifies(
    closed: Dossier, session: Session, settings: Settings, world: World, tmp_path: Path
) -> None:
    path = _package(session, settings, world, closed.id, tmp_path)
    _root, files = _inside(path)
    code = closed.file_code
    data = sorted(p for p in files if p.startswith("representations/rep1/data/"))
    # each document: its original, and the signed copy next to it, named file code + "." + its number
    assert data == [
        f"representations/rep1/data/{code}.1.pdf",
        f"representations/rep1/data/{code}.1.v2.pdf",
        f"representations/rep1/data/{code}.2.pdf",
        f"representations/rep1/data/{code}.2.v2.pdf",
    ]
    for needed in ("METS.xml", "representations/rep1/METS.xml", "metadata/descriptive/EAD.xml"):
        assert needed in files
    assert "metadata/preservation/PREMIS.xml" in files
    assert {f"schemas/{n}" for n in ("mets.xsd", "xlink.xsd", "premis.xsd", "ead3.xsd", "hoso-tt05.xsd")} <= set(files)
    assert b'csip:OAISPACKAGETYPE="AIP"' in files["METS.xml"]
    # the descriptive XML validates against the schemas inside the package, and only those
    schemas = {p.removeprefix("schemas/"): b for p, b in files.items() if p.startswith("schemas/")}
    check = xsd.validator(schemas)
    described = [p for p in files if p.startswith("metadata/descriptive/")]
    assert sorted(described) == [f"metadata/descriptive/{code}.{n}.xml" for n in (1, 2)] + [
        "metadata/descriptive/EAD.xml"
    ]
    for rel in described:
        assert check(files[rel]) == [], rel
    ead = etree.fromstring(files["metadata/descriptive/EAD.xml"])
    ns = {"ead": "http://ead3.archivists.org/schema/", "tt": "urn:hoso:tt05-2025"}
    assert ead.findtext("ead:archdesc/ead:did/ead:unitid", namespaces=ns) == code
    assert ead.findtext(".//tt:dossier/tt:totalDoc", namespaces=ns) == "2"
    assert ead.findtext(".//tt:dossier/tt:inforSign", namespaces=ns) == "Có chữ ký số"
    record = etree.fromstring(files[f"metadata/descriptive/{code}.1.xml"])
    assert record.findtext("tt:arcFileCode", namespaces=ns) == code
    assert record.findtext("tt:docOrdinal", namespaces=ns) == "1"
    assert record.findtext("tt:subject", namespaces=ns) == "Toán 5 — Phân số"
    # a broken record is caught by the same schemas: the check can fail
    assert check(files[f"metadata/descriptive/{code}.1.xml"].replace(b"docOrdinal>1<", b"docOrdinal>mot<"))
    # PREMIS 3 and METS validate against the official schemas the package carries
    for rel, xsd_name in (("metadata/preservation/PREMIS.xml", "premis.xsd"), ("METS.xml", "mets.xsd")):
        parser = etree.XMLParser(no_network=True)
        parser.resolvers.add(xsd._Local(schemas))
        schema = etree.XMLSchema(etree.fromstring(schemas[xsd_name], parser, base_url=xsd_name))
        assert schema.validate(etree.fromstring(files[rel])), (rel, schema.error_log)
    premis = files["metadata/preservation/PREMIS.xml"].decode()
    assert "signatureInformation" in premis and "PAdES" in premis and "<premis:messageDigest>" in premis
    # hoso verify: intact, the seal chains to the trusted test root, both signatures hold
    verdict = verify(path, settings)
    assert verdict.outcome is Outcome.valid, verdict.problems
    assert verdict.signatures_checked >= 2 and verdict.every_signature_holds
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "dossier.packaged"))
    assert event is not None and event.details["package_type"] == "AIP" and event.details["documents"] == 2
    if EARK_PYTHON.exists():
        result = subprocess.run(
            [str(EARK_PYTHON), str(ROOT / "tests" / "tools" / "eark_validate.py"), str(path)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        report = json.loads(result.stdout)
        assert report["structure"] == "WellFormed", report
        assert report["errors"] == [], report["errors"]


def _rewrite(source: Path, target: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> Path:
    """A copy of the package with entries changed (None: removed) or added, as a forger makes it."""
    root, files = _inside(source)
    with zipfile.ZipFile(target, "w") as out:
        for rel, body in files.items():
            if rel in change:
                if change[rel] is None:
                    continue
                body = change[rel]  # type: ignore[assignment]
            out.writestr(f"{root}/{rel}", body)
        for rel, body in (add or {}).items():
            out.writestr(f"{root}/{rel}", body)
    return target


def test_a_forged_package_fails_verify_with_the_fault_named(
    closed: Dossier, session: Session, settings: Settings, world: World, tmp_path: Path
) -> None:
    genuine = _package(session, settings, world, closed.id, tmp_path)
    _root, files = _inside(genuine)
    first = f"representations/rep1/data/{closed.file_code}.1.pdf"
    flipped = bytearray(files[first])
    flipped[len(flipped) // 2] ^= 0x01
    mets = files["METS.xml"].decode()
    digest = next(line.split('CHECKSUM="')[1][:64] for line in mets.splitlines() if 'CHECKSUM="' in line)
    cases = {
        "byte": ({first: bytes(flipped)}, None, f"File was altered (SHA-256 mismatch): {first}"),
        "added": ({}, {"representations/rep1/data/them.pdf": b"%PDF-1.7"}, "File not in the manifest"),
        "mets": (
            {"METS.xml": mets.replace(digest, "0" * 64, 1).encode()},
            None,
            "File was altered (SHA-256 mismatch): METS.xml",
        ),
        "renamed": (
            {first: None},
            {f"representations/rep1/data/{closed.file_code}.9.pdf": files[first]},
            f"Missing file: {first}",
        ),
    }
    for name, (change, add, said) in cases.items():
        forged = _rewrite(genuine, tmp_path / f"{name}.zip", change, add)
        verdict = verify(forged, settings)
        assert verdict.outcome is Outcome.invalid, name
        assert any(said in en for _vi, en in verdict.problems), (name, verdict.problems)
    assert verify(genuine, settings).outcome is Outcome.valid


def test_open_empty_and_other_schools_dossiers_are_refused(
    client: TestClient, world: World, session: Session, settings: Settings, tmp_path: Path
) -> None:
    dossiers = _year(session, world, settings)
    math = dossiers[MATH]
    with pytest.raises(Conflict, match="not closed"):
        _package(session, settings, world, math.id, tmp_path)
    session.rollback()
    clerk = session.get(Person, world.clerk.id)
    assert clerk is not None
    empty = next(d for t, d in dossiers.items() if t != MATH)
    closing.close(session, make_store(settings), clerk, [empty.id])
    with pytest.raises(InvalidInput, match="holds no document"):
        _package(session, settings, world, empty.id, tmp_path)
    session.rollback()
    other = person(session, "vt.binh", Role.clerk, "THB")
    with pytest.raises(Forbidden, match="clerk or archivist of the dossier's school"):
        build.build(session, settings, make_store(settings), other, empty.id, "AIP", tmp_path)
    with pytest.raises(InvalidInput, match="AIP or SIP"):
        build.build(session, settings, make_store(settings), clerk, empty.id, "DIP", tmp_path)
    assert list(tmp_path.glob("*.zip")) == []  # nothing half-written left behind
    assert session.get(Dossier, math.id).state == DossierState.open  # type: ignore[union-attr]
