"""A school's staff list from CSV or XLSX: preview, refusals naming row and column, all-or-nothing import."""

from __future__ import annotations

import io
import unicodedata

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import service, staff
from archive.auth import check_password
from archive.exceptions import Conflict, HosoError, InvalidInput, UnsupportedMediaType, UploadTooLarge
from archive.models import AuditEvent, Membership, Person, Role
from archive.schemas import MembershipCreate, PersonCreate
from archive.staff.commit import ImportRefused
from archive.staff.sheet import MAX_BYTES
from tests.factories import World, xlsx_bomb

HEADER = ["Họ và tên", "Tên đăng nhập", "Vai trò", "Email", "Mã định danh"]
FIVE = [
    ["Lê Văn An", "gv.an", "Giáo viên", "an@thcs.edu.vn", "079123456789"],
    ["Trần Thị Bình", "gv.thuy", "Giáo viên; Tổ trưởng chuyên môn", "", ""],
    ["Phạm Minh Châu", "ht.chau", "Hiệu trưởng", "", ""],
    ["Ngô Thu Dung", "vt.dung", "van thu", "", ""],
    ["Đỗ Quốc Em", "gv.em", "giao vien", "", ""],
]


def xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)  # type: ignore[union-attr]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def windows_1258(text: str) -> bytes:
    """Text as Excel's "CSV" writes it on a Vietnamese Windows: â ê ô ơ ư ă đ whole, tone marks combining."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out: list[tuple[str, str]] = []  # (letter, its tone mark)
    for c in unicodedata.normalize("NFD", text):
        if out and c in tones:
            out[-1] = (out[-1][0], c)
        elif out and unicodedata.combining(c):
            out[-1] = (unicodedata.normalize("NFC", out[-1][0] + c), out[-1][1])
        else:
            out.append((c, ""))
    return "".join(letter + tone for letter, tone in out).encode("cp1258")


def csv_text(rows: list[list[str]], sep: str = ",") -> str:
    return "\n".join(sep.join(cells) for cells in rows) + "\n"


def people(session: Session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(Person)) or 0


def test_five_people_from_an_xlsx_with_one_time_passwords_and_their_roles(session: Session, world: World) -> None:
    preview, lines = staff.read_file(session, "THA", xlsx([HEADER, *FIVE]), "danh-sach.xlsx")
    assert preview.refused == 0, [r.problems for r in preview.rows]
    assert [r.username for r in preview.rows] == ["gv.an", "gv.thuy", "ht.chau", "vt.dung", "gv.em"]
    assert preview.rows[1].roles == [Role.teacher, Role.department_head] and preview.rows[0].row == 2
    assert preview.rows[0].national_id == "079123456789" and preview.columns == HEADER
    before = people(session)
    done = staff.import_lines(session, world.admin, "THA", lines)
    assert people(session) == before + 5 and len({a.password for a in done.created}) == 5
    an = session.scalar(select(Person).where(Person.username == "gv.an"))
    assert an is not None and an.must_change_password and an.email == "an@thcs.edu.vn"
    assert check_password(an.password_hash, done.created[0].password)
    binh = session.scalar(select(Person).where(Person.username == "gv.thuy"))
    assert binh is not None and {(m.role, m.school.code) for m in binh.memberships} == {
        ("teacher", "THA"),
        ("department_head", "THA"),
    }
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("people.%"))))
    assert actions == ["people.imported"]


@pytest.mark.parametrize(
    ("encoding", "sep"), [("utf-8-sig", ","), ("utf-8", ";"), ("cp1258", ";"), ("utf-16", "\t")], ids=str
)
def test_the_encodings_excel_writes_are_read(session: Session, world: World, encoding: str, sep: str) -> None:
    text = csv_text([["HO VA TEN", "ten_dang_nhap", "Vai tro"], *[r[:3] for r in FIVE]], sep)
    data = windows_1258(text) if encoding == "cp1258" else text.encode(encoding)
    preview, _ = staff.read_file(session, "THA", data, "ds.csv")
    assert preview.refused == 0 and preview.rows[4].full_name == "Đỗ Quốc Em"  # NFC, whatever the encoding


def test_an_unreadable_encoding_is_refused_with_how_to_save_it(session: Session, world: World) -> None:
    tcvn3 = "Hä vµ tªn,Tªn ®¨ng nhËp,Vai trß\nLª V¨n An,gv.an,Gi¸o viªn\n".encode("latin-1")
    with pytest.raises(UnsupportedMediaType) as refused:
        staff.read_file(session, "THA", tcvn3, "tcvn3.csv")
    assert "CSV UTF-8" in refused.value.vi and "TCVN3" in refused.value.vi
    no_bom = csv_text([HEADER, FIVE[0]]).encode("utf-16-le")
    with pytest.raises(UnsupportedMediaType):
        staff.read_file(session, "THA", no_bom, "utf16.csv")


@pytest.mark.parametrize(
    ("data", "error", "said"),
    [
        (b"", InvalidInput, "trống"),
        (b" \r\n\r\n", InvalidInput, "trống"),
        (b",,\n,,\n", InvalidInput, "không có dòng nào"),
        (csv_text([HEADER]).encode(), InvalidInput, "chỉ có dòng tiêu đề"),
        (
            csv_text([["Họ và tên", "Email"], ["An", "a@b.vn"]]).encode(),
            InvalidInput,
            'thiếu cột "Tên đăng nhập", "Vai trò"',
        ),
        (b"x" * (MAX_BYTES + 1), UploadTooLarge, "quá lớn"),
        (xlsx_bomb(4 * 1024 * 1024), UploadTooLarge, "zip bomb"),
        (b"PK\x03\x04 not really a workbook", UnsupportedMediaType, "hỏng"),
    ],
    ids=["empty", "blank", "no-text", "header-only", "missing-columns", "too-large", "zip-bomb", "fake-zip"],
)
def test_a_file_that_cannot_be_a_staff_list_is_refused_whole(
    session: Session, world: World, data: bytes, error: type[HosoError], said: str
) -> None:
    with pytest.raises(error) as refused:
        staff.read_file(session, "THA", data, "ds")
    assert said in refused.value.vi, refused.value.vi


def test_each_refused_row_names_its_row_and_column_and_nothing_is_half_imported(session: Session, world: World) -> None:
    rows = [
        HEADER,
        FIVE[0],
        ["Lê Văn An 2", "gv.an", "Giáo viên", "", ""],  # duplicate of row 2 in the file
        ["Lan trùng", "GV.Lan", "Giáo viên", "", ""],  # the world's teacher already has it (case aside)
        ["Hùng", "gv.hung", "Bảo vệ", "", ""],  # no such role
        ["Sơn", "tt.son", "Thanh tra", "", ""],  # not a school's role
        ["", "gv.trong", "Giáo viên", "khong-phai-email", ""],
        ["Có dấu", "gv.có-dấu", "", "", ""],
    ]
    preview, lines = staff.read_file(session, "THA", xlsx(rows), "ds.xlsx")
    said = {r.row: " | ".join(p.vi for p in r.problems) for r in preview.rows}
    assert "trùng với dòng 3" in said[2] and preview.refused == 7  # both rows: which one is right is the admin's call
    assert 'Dòng 3, cột "Tên đăng nhập"' in said[3] and "trùng với dòng 2" in said[3]
    assert "đã có người dùng trong hệ thống" in said[4]
    assert "cột \"Vai trò\": không có vai trò 'Bảo vệ'" in said[5] and "Giáo viên" in said[5]
    assert "không gắn với trường" in said[6]
    assert 'cột "Họ và tên": còn trống' in said[7] and 'cột "Email"' in said[7]
    assert 'cột "Tên đăng nhập"' in said[8] and 'cột "Vai trò": còn trống' in said[8]
    before = people(session)
    with pytest.raises(ImportRefused) as refused:
        staff.import_lines(session, world.admin, "THA", lines)
    assert "Chưa nhập ai" in refused.value.vi and len(refused.value.context["rows"]) == 7  # type: ignore[arg-type]
    assert people(session) == before  # not even row 2
    done = staff.import_lines(session, world.admin, "THA", lines, chosen={2})  # row 3 unticked: no duplicate left
    assert [a.username for a in done.created] == ["gv.an"] and people(session) == before + 1
    with pytest.raises(InvalidInput):
        staff.import_lines(session, world.admin, "THA", lines, chosen=set())


def test_a_username_taken_between_preview_and_confirm_refuses_the_whole_import(session: Session, world: World) -> None:
    _, lines = staff.read_file(session, "THA", xlsx([HEADER, *FIVE]), "ds.xlsx")
    service.create_person(
        session,
        world.admin,
        PersonCreate(username="gv.em", full_name="Người khác", password="mat-khau-dai-10"),
        MembershipCreate(role=Role.teacher, school_code="THB"),
    )
    before = people(session)
    with pytest.raises(ImportRefused):
        staff.import_lines(session, world.admin, "THA", lines)
    assert people(session) == before


def test_an_unknown_school_is_refused(session: Session, world: World) -> None:
    with pytest.raises(HosoError, match="No school"):
        staff.read_file(session, "KHONG-CO", xlsx([HEADER, *FIVE]), "ds.xlsx")


def test_reset_password_and_disable_end_sessions_and_keep_an_admin(session: Session, world: World) -> None:
    lan = world.teacher
    version = lan.token_version
    password = service.reset_password(session, world.admin, lan)
    assert len(password) == 14 and lan.must_change_password and lan.token_version == version + 1
    assert check_password(lan.password_hash, password)
    from archive.schemas import PersonUpdate

    service.update_person(session, world.admin, lan, PersonUpdate(active=False, email="lan@tha.edu.vn"))
    assert not lan.active and lan.email == "lan@tha.edu.vn" and lan.token_version == version + 2
    with pytest.raises(InvalidInput):
        service.update_person(session, world.admin, world.admin, PersonUpdate(active=False))
    admin_role = next(m for m in world.admin.memberships if m.role == Role.admin)
    with pytest.raises(Conflict):
        service.remove_membership(session, world.admin, admin_role.id)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Membership).where(Membership.id == admin_role.id)) == 1
    changes = list(session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(lan.id))))
    assert "person.password_reset" in changes and "person.updated" in changes
