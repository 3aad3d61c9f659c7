"""`hoso admin` and `hoso school`: the people and schools set up before anyone logs in."""

from __future__ import annotations

import typer

from api.cli.common import console, open_session
from archive import service
from archive.models import Role
from archive.schemas import MembershipCreate, PersonCreate, SchoolCreate
from flows.settings import Settings


def create_user(
    username: str = typer.Option(...),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    full_name: str = typer.Option(...),
    role: Role = typer.Option(...),
    school: str | None = typer.Option(None, help="Mã trường (không dùng cho admin)"),
) -> None:
    """Create a person with one role (at a school, except admin)."""
    settings = Settings()
    with open_session(settings) as session:
        membership = MembershipCreate(role=role, school_code=school)
        if school:
            service.school_by_code(session, school)
        person = service.create_person(
            session, None, PersonCreate(username=username, password=password, full_name=full_name)
        )
        service.add_membership(session, None, person, membership)
    console.print(f"Đã tạo / created {username} ({role.value}{' @ ' + school if school else ''})")


def school_add(
    code: str = typer.Option(..., help="Mã trường theo CSDL ngành"),
    name: str = typer.Option(...),
    district: str | None = typer.Option(None),
    province: str | None = typer.Option(None),
) -> None:
    """Add a school."""
    with open_session(Settings()) as session:
        school = service.create_school(
            session, None, SchoolCreate(code=code, name=name, district=district, province=province)
        )
    console.print(f"Đã thêm trường / added school {school.code}: {school.name}")
