"""`hoso sign-agent`: the token on the principal's PC, offered only to the hoso page's origin.

The test plays the web page: digests from the hoso API, signatures from the agent, back to the API.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api.sign_agent import create_agent
from flows.settings import Settings
from tests.api.test_cli import hoso_env
from tests.conftest import STARTUP_DEADLINE, free_port
from tests.signing.conftest import approve_all
from tests.softhsm import Token

ORIGIN = "https://hoso.truong.test"


@pytest.fixture
def agent(tokens: dict[str, Token]) -> Iterator[TestClient]:
    app = create_agent(tokens["principal"].module, ORIGIN, port=8765, idle_seconds=60)
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"Origin": ORIGIN}) as client:
        yield client


def test_only_the_hoso_page_through_localhost_may_call(agent: TestClient, tokens: dict[str, Token]) -> None:
    assert agent.get("/status", headers={"Origin": "https://evil.example"}).status_code == 403
    no_origin = httpx.Request("GET", "http://127.0.0.1:8765/status")
    assert agent.send(no_origin).status_code == 403
    rebound = agent.get("/status", headers={"Host": "evil.example:8765"})
    assert rebound.status_code == 403 and "127.0.0.1" in rebound.json()["message"]
    preflight = agent.options("/sessions", headers={"Access-Control-Request-Private-Network": "true"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-private-network"] == "true"
    status = agent.get("/status")
    assert status.status_code == 200 and status.headers["access-control-allow-origin"] == ORIGIN
    assert {"HT-HOA", "HT-REVOKED"} <= set(status.json()["tokens"])


def test_the_page_signs_a_month_with_one_pin_through_the_agent(
    client: TestClient,
    month: dict,  # type: ignore[type-arg]
    agent: TestClient,
    tokens: dict[str, Token],
) -> None:
    hoa, batch_id = month["hoa"], month["batch_id"]
    approve_all(client, hoa, batch_id)
    wrong = agent.post("/sessions", json={"pin": "000000", "token_label": "HT-HOA"})
    assert wrong.status_code == 422 and "Sai mã PIN" in wrong.json()["message"]
    opened = agent.post("/sessions", json={"pin": tokens["principal"].pin, "token_label": "HT-HOA"})
    assert opened.status_code == 201, opened.text
    sid, cert = opened.json()["session"], opened.json()
    body = {"certificate": cert["certificate"], "chain": cert["chain"], "level": "B-T", "limit": 2}
    rounds = 0
    while True:  # what the page's script does, chunk by chunk, without asking the PIN again
        rounds += 1
        prepared = client.post(f"/api/v1/approvals/{batch_id}/prepare", headers=hoa, json=body).json()
        digests = [i["digest"] for i in prepared["items"]]
        signed = agent.post(f"/sessions/{sid}/sign", json={"digests": digests})
        assert signed.status_code == 200, signed.text
        values = [
            {"id": i["id"], "signature": s} for i, s in zip(prepared["items"], signed.json()["signatures"], strict=True)
        ]
        done = client.post(f"/api/v1/approvals/{batch_id}/complete", headers=hoa, json={"signatures": values}).json()
        if done["state"] == "signed":
            break
    assert rounds == 3  # two chunks of plans, then the approval record
    batch = client.get(f"/api/v1/approvals/{batch_id}", headers=hoa).json()
    assert batch["counts"]["signed"] == 3
    for item in batch["items"]:
        assert client.get(f"/api/v1/records/{item['record_id']}/signatures", headers=hoa).json()["all_valid"]
    assert agent.post(f"/sessions/{sid}/sign", json={"digests": ["zz"]}).status_code == 422
    assert agent.post(f"/sessions/{sid}/sign", json={"digests": ["ab" * 31]}).status_code == 422
    assert agent.delete(f"/sessions/{sid}").status_code == 204
    closed = agent.post(f"/sessions/{sid}/sign", json={"digests": ["ab" * 32]})
    assert closed.status_code == 404 and "PIN" in closed.json()["message"]


def test_an_idle_session_closes_itself(tokens: dict[str, Token]) -> None:
    app = create_agent(tokens["principal"].module, ORIGIN, port=8765, idle_seconds=0.2)
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"Origin": ORIGIN}) as agent:
        sid = agent.post("/sessions", json={"pin": tokens["principal"].pin, "token_label": "HT-HOA"}).json()["session"]
        assert agent.post(f"/sessions/{sid}/sign", json={"digests": ["ab" * 32]}).status_code == 200
        time.sleep(0.3)
        assert agent.post(f"/sessions/{sid}/sign", json={"digests": ["ab" * 32]}).status_code == 404


def test_hoso_sign_agent_command_serves_on_localhost(settings: Settings, tokens: dict[str, Token]) -> None:
    port = free_port()
    args = ["--origin", ORIGIN, "--pkcs11-module", tokens["principal"].module, "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "sign-agent", *args],
        env=hoso_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE  # the condition is what we wait on
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/status", headers={"Origin": ORIGIN}, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "sign-agent did not start"
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json()["agent"] == "hoso-sign-agent"
        assert httpx.get(f"http://127.0.0.1:{port}/status").status_code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=10)
