"""`hoso units …`: a Sở, a Phòng under it, a school with its first principal, a person at the unit."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive.models import AuditEvent, Person, School
from flows.settings import Settings
from tests.api.test_cli import hoso


def test_a_phong_and_its_school_from_the_command_line(settings: Settings, engine: Engine) -> None:
    made = hoso(
        settings,
        "units",
        "create",
        "--kind",
        "so",
        "--code",
        "SGD-DN",
        "--name",
        "Sở GDĐT Đồng Nai",
        "--area",
        "Đồng Nai",
    )
    assert made.returncode == 0, made.stderr
    args = ["--kind", "phong", "--code", "PGD-TB", "--name", "Phòng GDĐT Trảng Bom", "--area", "Trảng Bom"]
    assert hoso(settings, "units", "create", *args, "--parent", "SGD-DN").returncode == 0
    school = hoso(
        settings,
        "units",
        "add-school",
        "--unit",
        "PGD-TB",
        "--code",
        "TBA",
        "--name",
        "Trường TH Bàu Hàm",
        "--principal",
        "ht.bauham",
        "--principal-name",
        "Nguyễn Văn Hiệu",
    )
    assert school.returncode == 0 and "mật khẩu một lần" in school.stdout, school.stderr
    head = hoso(
        settings,
        "units",
        "add-person",
        "--unit",
        "PGD-TB",
        "--username",
        "pgd.tp",
        "--role",
        "head",
        "--full-name",
        "Trưởng phòng",
    )
    assert head.returncode == 0 and "one-time password" in head.stdout
    listed = hoso(settings, "units", "list")
    assert "PGD-TB" in listed.stdout and "SGD-DN" in listed.stdout
    taken = ["units", "remove-person", "--unit", "PGD-TB", "--username", "pgd.tp", "--role", "head"]
    assert hoso(settings, *taken).returncode == 0
    twice = hoso(settings, *taken)
    assert twice.returncode == 1 and "không có vai trò đó" in twice.stderr, twice.stderr
    assert hoso(settings, "units", "set-deadline", "--unit", "PGD-TB", "--day", "10").returncode == 0
    late = hoso(settings, "units", "set-deadline", "--unit", "PGD-TB", "--day", "30")
    assert late.returncode == 1 and "từ 1 đến 28" in late.stderr, late.stderr

    orphan = hoso(settings, "units", "create", "--kind", "phong", "--code", "PGD-X", "--name", "Phòng lạc")
    assert orphan.returncode == 1 and "phải thuộc một Sở" in orphan.stderr and "must sit under a Sở" in orphan.stderr
    missing = hoso(settings, "units", "attach", "NOPE", "--unit", "PGD-TB")
    assert missing.returncode == 1 and "NOPE" in missing.stderr
    bad_day = hoso(
        settings, "units", "create", "--kind", "so", "--code", "SGD-Y", "--name", "Sở", "--deadline-day", "31"
    )
    assert bad_day.returncode == 1 and "signing_deadline_day" in bad_day.stderr

    with Session(engine) as session:
        tba = session.scalar(select(School).where(School.code == "TBA"))
        assert tba is not None and (tba.district, tba.province) == ("Trảng Bom", "Đồng Nai")
        principal = session.scalar(select(Person).where(Person.username == "ht.bauham"))
        assert principal is not None and principal.must_change_password
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {
            "unit.created",
            "school.created",
            "person.created",
            "membership.added",
            "unit_membership.added",
            "unit_membership.removed",
            "unit.deadline_changed",
        } <= actions
        assert session.scalar(select(School).where(School.code == "PGD-X")) is None  # nothing half-stored
