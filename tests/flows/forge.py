"""What a forger does with a genuine evidence package, scripted (issue #13 §1): swap a signed PDF
for another genuinely signed one, edit the report, rebuild the package with hoso's own writer and
seal it with a fresh key whose self-signed certificate carries the archive's seal name exactly.

A careful forger also rewrites what the package says about itself (the audit excerpt's hashes,
re-chained; the PREMIS fixity), so that only the seal's maker gives it away; `stale` leaves one of
them as it was, for the cross-checks to catch.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from archive import audit, premis
from archive.package import MANIFEST, SEAL, PackageWriter
from flows.settings import Settings
from signing import keys, seal

MEDIA = {
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".html": "text/html",
    ".xml": "text/xml",
    ".xsd": "text/xml",
    ".pem": "application/x-pem-file",
    ".p7s": "application/pkcs7-signature",
}
PREMIS = "metadata/preservation/premis.xml"
REPORT = "documentation/bao-cao-chung-cu.html"


def seal_subject(p7s: bytes) -> x509.Name:
    """The subject of the certificate that made a seal, read from the seal itself."""
    signed = cms.ContentInfo.load(p7s)["content"]
    sid = signed["signer_infos"][0]["sid"].chosen
    for choice in signed["certificates"]:
        cert = choice.chosen
        if cert.serial_number == sid["serial_number"].native and cert.issuer == sid["issuer"]:
            return x509.load_der_x509_certificate(cert.dump()).subject
    raise AssertionError("the seal does not carry its certificate")


def forger_key(subject: x509.Name) -> tuple[keys.KeySource, bytes]:
    """A fresh key and a self-signed certificate under `subject`: a second's work for anyone."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    blob = pkcs12.serialize_key_and_certificates(b"x", key, cert, None, serialization.NoEncryption())
    return keys.from_pkcs12(blob, None), cert.public_bytes(serialization.Encoding.PEM)


def _rechain(excerpt: dict, victim_version: int, new_sha256: str) -> None:  # type: ignore[type-arg]
    previous = None
    for event in excerpt["events"]:
        details = event.get("details") or {}
        if details.get("version") == victim_version and "sha256" in details:
            details["sha256"] = new_sha256
        if previous is not None and event["seq"] == previous["seq"] + 1:
            event["prev_hash"] = previous["hash"]
        event["hash"] = audit.hash_body({k: v for k, v in event.items() if k != "hash"})
        previous = event


def forge(genuine: Path, target: Path, settings: Settings, stale: str = "") -> tuple[Path, str]:
    """The forged package at `target` and the path of the swapped file. `stale`: "" (a careful
    forger), "audit" or "premis" (that part copied from the genuine package unchanged)."""
    import hashlib

    with zipfile.ZipFile(genuine) as z:
        root = z.namelist()[0].split("/")[0]
        files = {n[len(root) + 1 :]: z.read(n) for n in z.namelist() if not n.endswith("/")}
    signed = sorted(p for p in files if p.endswith("-da-ky.pdf"))
    victim, substitute = signed[0], signed[1]
    files[victim] = files[substitute]  # a genuinely signed PDF, under another record's name
    files[REPORT] = files[REPORT].replace("Chữ ký hợp lệ".encode(), "Chữ ký hợp lệ (đã kiểm tra)".encode())
    record_id, name = victim.split("/")[3], victim.split("/")[4]
    excerpt_path = f"documentation/audit/{record_id}.json"
    if stale != "audit":
        excerpt = json.loads(files[excerpt_path])
        _rechain(excerpt, int(name[1 : name.index("-")]), hashlib.sha256(files[victim]).hexdigest())
        files[excerpt_path] = json.dumps(excerpt, ensure_ascii=False, indent=1).encode()
    key, forger_pem = forger_key(seal_subject(files[SEAL]))
    files["documentation/trust/root-2.pem"] = forger_pem  # "trust me": the package may carry any root
    skip = {MANIFEST, SEAL, "METS.xml", "representations/rep1/METS.xml", PREMIS}
    with open(target, "wb") as out:
        writer = PackageWriter(out, root, "DIP", "Gói chứng cứ", "0.1.0")
        for path in sorted(set(files) - skip):
            writer.add(path, files[path], MEDIA.get(Path(path).suffix, "application/octet-stream"))
        if stale == "premis":
            writer.add(PREMIS, files[PREMIS], "text/xml")
        else:
            objects = [e for e in writer.entries if not e.path.startswith("metadata/")]
            writer.add(PREMIS, premis.build(objects, [], [("hoso", "hoso 0.1.0", "software")]), "text/xml")
        try:
            writer.finish(seal=lambda manifest: seal.seal(settings, key, manifest))  # the public TSA stamps it too
        finally:
            key.close()
    return target, victim
