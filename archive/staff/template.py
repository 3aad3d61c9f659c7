"""The staff-list template an administrator downloads, fills in Excel, and imports back.

Its header is the one `check` reads best; an example row shows the role names, and (in the XLSX)
a second sheet lists every role a school's list may use, so nobody has to guess how to write one.
"""

from __future__ import annotations

import codecs
import csv
import io

from archive.models import Role
from archive.staff.check import COLUMNS, NOT_OF_A_SCHOOL, ROLE_NAMES

EXAMPLE = ["Lê Thị Lan", "gv.lan", "Giáo viên; Tổ trưởng chuyên môn", "lan@truong.edu.vn", "079123456789"]


def template_csv() -> bytes:
    """UTF-8 with a BOM: Excel opens it with the Vietnamese letters intact."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS.values())
    writer.writerow(EXAMPLE)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Danh sách"
    sheet.append(list(COLUMNS.values()))
    sheet.append(EXAMPLE)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDE", (28, 18, 32, 28, 18), strict=True):
        sheet.column_dimensions[column].width = width
    sheet["E2"].number_format = "@"  # an ID keeps its leading zero
    roles = book.create_sheet("Vai trò")
    roles.append(['Vai trò ghi trong cột "Vai trò" (nhiều vai trò cách nhau bằng dấu ;)'])
    for role in Role:
        if role not in NOT_OF_A_SCHOOL:
            roles.append([ROLE_NAMES[role]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def passwords_csv(accounts: list[tuple[str, str, str]]) -> bytes:
    """(full name, username, one-time password) rows for the administrator to print and hand out."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Họ và tên", "Tên đăng nhập", "Mật khẩu dùng một lần (đổi khi đăng nhập lần đầu)"])
    writer.writerows([[_inert(c) for c in row] for row in accounts])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def _inert(cell: str) -> str:
    """A cell Excel shows as text, never runs as a formula (a name typed "=HYPERLINK(…)" stays a name)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
