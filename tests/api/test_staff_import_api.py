"""The staff-list import and the password reset in the API (response models) and the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from archive.db import make_sessionmaker
from flows.settings import Settings
from tests import factories
from tests.api.test_cli import hoso
from tests.archive.test_staff_import import FIVE, HEADER, people, xlsx
from tests.factories import World, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_preview_then_import_over_the_api(client: TestClient, world: World, session: Session) -> None:
    admin = login(client, "admin1")
    data = xlsx([HEADER, *FIVE, ["Trùng", "gv.lan", "Giáo viên", "", ""]])
    files = {"file": ("ds.xlsx", data, XLSX)}
    shown = client.post("/api/v1/schools/THA/staff-import/preview", headers=admin, files=files)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (
        body["refused"] == 1
        and body["rows"][5]["ok"] is False
        and body["rows"][1]["roles"]
        == [
            "teacher",
            "department_head",
        ]
    )
    before = people(session)
    refused = client.post("/api/v1/schools/THA/staff-import", headers=admin, files=files)
    assert refused.status_code == 422 and refused.json()["error"] == "import_refused"
    assert refused.json()["detail"]["rows"][0]["row"] == 7 and people(session) == before
    done = client.post("/api/v1/schools/THA/staff-import?skip_refused=true", headers=admin, files=files)
    assert done.status_code == 201 and len(done.json()["created"]) == 5 and people(session) == before + 5
    teacher = login(client, "gv.lan")
    assert client.post("/api/v1/schools/THA/staff-import/preview", headers=teacher, files=files).status_code == 403
    unknown = client.post("/api/v1/schools/KHONG/staff-import/preview", headers=admin, files=files)
    assert unknown.status_code == 404
    empty = client.post("/api/v1/schools/THA/staff-import", headers=admin, files={"file": ("ds.csv", b"", "text/csv")})
    assert empty.status_code == 422 and "trống" in empty.json()["message"]


def test_a_reset_password_works_once_and_the_old_sessions_end(client: TestClient, world: World) -> None:
    admin, lan = login(client, "admin1"), login(client, "gv.lan")
    reset = client.post(f"/api/v1/people/{world.teacher.id}/password-reset", headers=admin)
    assert reset.status_code == 200 and reset.json()["username"] == "gv.lan"
    assert client.get("/api/v1/schools", headers=lan).status_code == 401  # her token ended
    token = client.post("/api/v1/auth/token", data={"username": "gv.lan", "password": reset.json()["password"]})
    assert token.status_code == 200 and token.json()["must_change_password"] is True
    patched = client.patch(
        f"/api/v1/people/{world.teacher.id}", headers=admin, json={"email": "lan@tha.edu.vn", "national_id": "0791"}
    )
    assert patched.status_code == 200 and patched.json()["national_id"] == "0791"
    assert client.post(f"/api/v1/people/{world.admin.id}/password-reset", headers=lan).status_code == 401


def test_the_cli_previews_with_dry_run_and_imports(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    with make_sessionmaker(engine)() as session:
        factories.make_world(session)
    sheet = tmp_path / "ds.xlsx"
    sheet.write_bytes(xlsx([HEADER, *FIVE, ["Trùng", "gv.lan", "Giáo viên", "", ""]]))
    dry = hoso(settings, "people", "import", str(sheet), "--school", "THA", "--dry-run")
    assert dry.returncode == 1 and "Lê Văn An" in dry.stdout and "đã có người dùng" in dry.stdout
    refused = hoso(settings, "people", "import", str(sheet), "--school", "THA")
    assert refused.returncode == 1 and "Chưa nhập ai" in refused.stderr
    out = tmp_path / "mat-khau.csv"
    done = hoso(settings, "people", "import", str(sheet), "--school", "THA", "--skip-refused", "--passwords", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 6 and rows[1][1] == "gv.an" and rows[1][2] in done.stdout
    missing = hoso(settings, "people", "import", str(sheet), "--school", "KHONG")
    assert missing.returncode == 1 and "Không có trường" in missing.stderr
