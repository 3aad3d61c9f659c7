"""Signing fixtures: a live certomancer PKI (CA, TSA, OCSP, CRL over HTTP) and settings that trust it."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from archive.models import Role
from flows.settings import Settings
from tests import factories
from tests.factories import login
from tests.pki import PKCS12_PASSWORD, TestPKI


@pytest.fixture
def settings(settings: Settings, pki: TestPKI) -> Settings:
    """The kernel's test settings plus a trust store, a TSA and a short signing lease."""
    return settings.model_copy(
        update={"trust_roots": str(pki.root_pem_path()), "tsa_url": pki.tsa_url, "signing_lease_seconds": 3}
    )


@pytest.fixture
def world(session, world: factories.World, pki: TestPKI):  # type: ignore[no-untyped-def]
    """The signers, each with their own certificate registered (the first use is tested in test_ownership.py)."""
    factories.person(session, "pht.thu", Role.vice_principal, "THA")
    factories.person(session, "ht.binh", Role.principal, "THB")
    factories.register_certificate(session, "ht.hoa", pki.cert_der("principal"))
    factories.register_certificate(session, "pht.thu", pki.cert_der("vice"))
    return world


@pytest.fixture
def month(client: TestClient, world: factories.World) -> dict:  # type: ignore[type-arg]
    """Three plans from two teachers submitted for 2026-11; returns ids and headers."""
    lan, minh, hoa = login(client, "gv.lan"), login(client, "gv.minh"), login(client, "ht.hoa")
    records = [
        upload_plan(client, lan, "Toán 5 — Phân số"),
        upload_plan(client, lan, "Tiếng Việt 5 — Tập đọc", subject="Tiếng Việt"),
        upload_plan(client, minh, "Khoa học 5 — Nước", subject="Khoa học", class_name="5B"),
    ]
    items = [submit(client, lan, records[0]["id"]), submit(client, lan, records[1]["id"])]
    items.append(submit(client, minh, records[2]["id"]))
    assert len({i["batch_id"] for i in items}) == 1
    return {"records": records, "items": items, "batch_id": items[0]["batch_id"], "lan": lan, "minh": minh, "hoa": hoa}


def upload_plan(client: TestClient, headers: dict[str, str], title: str, content: bytes | None = None, **meta):  # type: ignore[no-untyped-def]
    import json

    body = json.dumps(factories.meta(title=title, month=11, **meta))
    response = client.post(
        "/api/v1/records",
        headers=headers,
        files={"metadata": (None, body), "file": ("ke-hoach.pdf", content or factories.lesson_plan_pdf(title))},
    )
    assert response.status_code == 201, response.text
    return response.json()


def submit(client: TestClient, headers: dict[str, str], record_id: str, period: str = "2026-11") -> dict:  # type: ignore[type-arg]
    response = client.post(f"/api/v1/records/{record_id}/submit", headers=headers, json={"period": period})
    assert response.status_code == 201, response.text
    return response.json()


def approve_all(client: TestClient, headers: dict[str, str], batch_id: str) -> dict:  # type: ignore[type-arg]
    items = client.get(f"/api/v1/approvals/{batch_id}", headers=headers).json()["items"]
    decisions = [{"item_id": i["id"], "decision": "approved"} for i in items if i["decision"] == "pending"]
    response = client.post(f"/api/v1/approvals/{batch_id}/decisions", headers=headers, json={"decisions": decisions})
    assert response.status_code == 200, response.text
    return response.json()


def sign(
    client: TestClient, headers: dict[str, str], batch_id: str, p12: bytes, password: bytes = PKCS12_PASSWORD, **form
):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/approvals/{batch_id}/sign",
        headers=headers,
        files={"pkcs12": ("hoa.p12", p12)},
        data={"password": password.decode(), **form},
    )


def wait_batch(client: TestClient, headers: dict[str, str], batch_id: str, timeout: float = 60) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.get(f"/api/v1/approvals/{batch_id}", headers=headers).json()
        if batch["state"] != "signing":
            return batch
        time.sleep(0.1)
    raise AssertionError(f"batch {batch_id} still signing after {timeout}s")
