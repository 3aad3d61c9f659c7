"""`hoso units …`: a Sở, its Phòng, their schools and people, as the system administrator sets them up.

The commands act as the system (no signed-in person, like `hoso school add`): each change is audited
with no actor. A one-time password is printed once, for the person to change at their first login.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from api.cli.common import console, fail, open_session
from archive import units
from archive.exceptions import HosoError
from archive.unit_models import UnitKind, UnitRole
from archive.unit_schemas import FirstPrincipal, UnitCreate, UnitPersonCreate, UnitSchoolCreate
from flows.settings import Settings

units_app = typer.Typer(help="Sở/Phòng GDĐT và các trường / the hierarchy of units.", no_args_is_help=True)


def _invalid(e: ValidationError) -> None:
    problems = "; ".join(f"{'.'.join(str(p) for p in x['loc'])}: {x['msg']}" for x in e.errors())
    fail(f"Dữ liệu không hợp lệ: {problems}", f"Invalid input: {problems}")


@units_app.command("create")
def create(
    kind: UnitKind = typer.Option(..., help="so (Sở GDĐT) | phong (Phòng GDĐT)"),
    code: str = typer.Option(..., help="Mã đơn vị / the unit's code"),
    name: str = typer.Option(..., help="Tên, ví dụ 'Phòng GDĐT Trảng Bom'"),
    area: str | None = typer.Option(None, help="Huyện (Phòng) hoặc tỉnh (Sở) / district or province"),
    parent: str | None = typer.Option(None, help="Mã Sở của Phòng / a Phòng's Sở"),
    deadline_day: int = typer.Option(5, help="Hạn ký: ngày này của tháng sau / signed by this day of the next month"),
) -> None:
    """Add a Sở, or a Phòng under a Sở."""
    try:
        data = UnitCreate(
            kind=kind, code=code, name=name, area=area, parent_code=parent, signing_deadline_day=deadline_day
        )
    except ValidationError as e:
        _invalid(e)
        return
    with open_session(Settings()) as session:
        try:
            unit = units.create_unit(session, None, data)
        except HosoError as e:
            fail(e.vi, e.en)
        console.print(f"Đã thêm đơn vị / added unit {unit.code}: {escape(unit.name)}")


@units_app.command("attach")
def attach(
    school: str = typer.Argument(..., help="Mã trường / the school's code"),
    unit: str = typer.Option(..., "--unit", help="Mã Phòng hoặc Sở / the unit's code"),
) -> None:
    """Put an existing school under a Phòng or a Sở (or move it)."""
    with open_session(Settings()) as session:
        try:
            found = units.attach_school(session, None, school, unit)
        except HosoError as e:
            fail(e.vi, e.en)
        console.print(f"Trường {found.code} thuộc / is now under {unit}.")


@units_app.command("add-school")
def add_school(
    unit: str = typer.Option(..., "--unit", help="Mã Phòng hoặc Sở / the unit's code"),
    code: str = typer.Option(..., help="Mã trường theo CSDL ngành"),
    name: str = typer.Option(...),
    principal: str | None = typer.Option(None, help="Tên đăng nhập hiệu trưởng / the first principal's username"),
    principal_name: str | None = typer.Option(None, help="Họ và tên hiệu trưởng"),
) -> None:
    """Add a school under a unit, with its first principal (printed with a one-time password)."""
    try:
        first = FirstPrincipal(username=principal, full_name=principal_name or "") if principal else None
        data = UnitSchoolCreate(code=code, name=name, principal=first)
    except ValidationError as e:
        _invalid(e)
        return
    with open_session(Settings()) as session:
        try:
            made = units.create_school(session, None, unit, data)
        except HosoError as e:
            fail(e.vi, e.en)
    console.print(f"Đã thêm trường / added school {made.code} ({escape(made.district or '')}) under {made.unit_code}")
    if made.principal_username:
        console.print(f"Hiệu trưởng / principal: {made.principal_username}  mật khẩu một lần: {made.one_time_password}")


@units_app.command("add-person")
def add_person(
    unit: str = typer.Option(..., "--unit", help="Mã đơn vị / the unit's code"),
    username: str = typer.Option(...),
    role: UnitRole = typer.Option(..., help="admin (quản trị) | head (lãnh đạo) | inspector (thanh tra)"),
    full_name: str | None = typer.Option(None, help="Họ và tên: tạo tài khoản mới / makes a new account"),
) -> None:
    """Give a person a role at a unit (a new account gets a one-time password)."""
    try:
        data = UnitPersonCreate(username=username, role=role, full_name=full_name)
    except ValidationError as e:
        _invalid(e)
        return
    with open_session(Settings()) as session:
        try:
            done = units.add_person(session, None, unit, data)
        except HosoError as e:
            fail(e.vi, e.en)
    console.print(f"{done.username}: {done.role.value} @ {done.unit_code}")
    if done.one_time_password:
        console.print(f"Mật khẩu một lần / one-time password: {done.one_time_password}")


@units_app.command("remove-person")
def remove_person(
    unit: str = typer.Option(..., "--unit", help="Mã đơn vị / the unit's code"),
    username: str = typer.Option(...),
    role: UnitRole = typer.Option(..., help="admin | head | inspector"),
) -> None:
    """Take a person's role at a unit back (an inspector's grants over the unit are revoked with it)."""
    with open_session(Settings()) as session:
        try:
            revoked = units.remove_person(session, None, unit, username, role)
        except HosoError as e:
            fail(e.vi, e.en)
    console.print(f"{username}: {role.value} @ {unit} — đã thu hồi / taken back")
    console.print(f"Quyết định thanh tra đã thu hồi / grants revoked: {revoked}")


@units_app.command("set-deadline")
def set_deadline(
    unit: str = typer.Option(..., "--unit", help="Mã đơn vị / the unit's code"),
    day: int = typer.Option(..., "--day", help="Ngày của tháng sau (1–28) / day of the next month"),
) -> None:
    """The day of the next month by which the unit's schools sign a month."""
    with open_session(Settings()) as session:
        try:
            units.set_deadline(session, None, unit, day)
        except HosoError as e:
            fail(e.vi, e.en)
    console.print(f"{unit}: hạn ký duyệt ngày {day} tháng sau / signed by day {day} of the next month")


@units_app.command("list")
def list_units() -> None:
    """Every unit, its parent and how many schools sit directly under it."""
    with open_session(Settings()) as session:
        table = Table("Mã / code", "Loại / kind", "Tên / name", "Thuộc / parent", "Trường / schools", "Hạn ký / day")
        for unit in units.visible_units_all(session):
            o = units.out(session, unit)
            day = str(o.signing_deadline_day)
            table.add_row(o.code, o.kind.value, escape(o.name), o.parent_code or "", str(o.school_count), day)
        console.print(table)
