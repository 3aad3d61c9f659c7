"""No input gives a server error: schemathesis over the whole OpenAPI, as an admin and as a teacher.

Every operation of the published schema gets a bounded number of generated requests (derandomized,
so a run is reproducible), sent through the app's own TestClient (the app's lifespan is the one the
`client` fixture started, not a second one). The one property that must hold is "no 5xx": a bad
request is the caller's mistake and gets a 4xx problem in words, never a traceback. Measured on
2026-12-01 before the fix: 5xx answers for huge integers in path/query parameters, a null in
PATCH /people and a forged large `sub`.
"""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from tests.factories import World, login

EXAMPLES_PER_OPERATION = 8  # 2 roles × 60 operations × 8 ≈ 1,000 requests: about a minute per database
# Operations whose generated requests would only log the caller out or hang on a multi-GB body.
SKIPPED = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/people/{person_id}/password-reset")}


def _send(client: TestClient, kwargs: dict[str, Any]) -> Any:
    """What schemathesis would send over the network (encoded by `requests`), sent to the app in-process."""
    kwargs.pop("auth", None)
    prepared = requests.Request(**kwargs).prepare()
    return client.request(
        str(prepared.method), str(prepared.url), headers=dict(prepared.headers), content=prepared.body or b""
    )


def _fuzz(client: TestClient, headers: dict[str, str]) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_dict(client.app.openapi())  # type: ignore[attr-defined]
    cases = 0
    errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def one(case: Any) -> None:
            nonlocal cases
            cases += 1
            kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=dict(headers))
            said = f"{case.method} {kwargs['url']} {kwargs.get('params')} {str(case.body)[:200]}"
            response = _send(client, kwargs)
            if response.status_code >= 500:
                errors.append(f"{said} → {response.status_code}")

        one()
    return cases, errors


def test_no_generated_request_gets_a_server_error(client: TestClient, world: World) -> None:
    total, errors = 0, []
    answering = TestClient(client.app, raise_server_exceptions=False)  # a 500 is counted, not raised
    roles = [login(client, username) for username in ("admin1", "gv.lan")]  # before the fuzz trips the throttle
    for headers in roles:
        cases, found = _fuzz(answering, headers)
        total += cases
        errors += found
    print(f"schemathesis: {total} cases, {len(errors)} server errors")
    assert total > 500
    assert not errors, "\n".join(errors[:40])


def _integer_parameters(openapi: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, name, where) of every integer path or query parameter the API publishes."""
    found = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                kinds = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
                if "integer" in kinds:
                    found.append((method.upper(), path, parameter["name"], parameter["in"]))
    return found


def test_a_huge_number_in_any_integer_parameter_is_refused_as_bad_input(client: TestClient, world: World) -> None:
    """A huge number in each integer parameter (ids, version numbers, pages): 4xx in words, never a 500."""
    headers = login(client, "admin1")
    answering = TestClient(client.app, raise_server_exceptions=False)
    parameters = _integer_parameters(client.app.openapi())  # type: ignore[attr-defined]
    assert len(parameters) >= 11
    answers = {}
    for method, path, name, where in parameters:
        for huge in (2**40, 2**64):  # past PostgreSQL's `integer`; past SQLite's 64-bit INTEGER
            values = {name: str(huge)}
            url = path
            for placeholder in [p.split("}")[0] for p in path.split("{")[1:]]:
                url = url.replace("{" + placeholder + "}", values.get(placeholder, "1"))
            params = values if where == "query" else None
            answer = answering.request(method, url, headers=headers, params=params)
            answers[(method, path, name, huge)] = answer.status_code
    assert all(400 <= status < 500 for status in answers.values()), answers


def test_null_in_a_person_update_is_refused_not_stored(client: TestClient, world: World) -> None:
    """A null name reached a NOT NULL column (500); a null `active` disabled the account."""
    admin = login(client, "admin1")
    answering = TestClient(client.app, raise_server_exceptions=False)
    for field in ("full_name", "active", "password"):
        response = answering.patch(f"/api/v1/people/{world.teacher.id}", headers=admin, json={field: None})
        assert response.status_code == 422, (field, response.text)
        assert "null" in response.json()["message"]
    teacher = answering.get(f"/api/v1/people/{world.teacher.id}", headers=admin).json()
    assert teacher["active"] is True and teacher["full_name"] == "Gv.Lan"
    renamed = client.patch(f"/api/v1/people/{world.teacher.id}", headers=admin, json={"full_name": "Lan"})
    assert renamed.status_code == 200


def test_a_forged_token_naming_a_huge_person_id_is_just_invalid(client: TestClient, world: World) -> None:
    import jwt

    secret = client.app.state.hoso.settings.resolved_secret_key()  # type: ignore[attr-defined]
    answering = TestClient(client.app, raise_server_exceptions=False)
    for sub in (str(2**64), "-5", 2**70, "1e3"):
        forged = jwt.encode({"sub": sub, "ver": 0, "exp": 4_000_000_000, "jti": "x"}, secret, algorithm="HS256")
        response = answering.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, (sub, response.text)
