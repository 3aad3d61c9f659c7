"""A school's staff list imported from CSV or XLSX: preview first, then all the rows or none.

`…/preview` answers what would be made and each refused row's reasons (naming the row and the
column), writing nothing. The import itself refuses (422, the refused rows in `detail.rows`) when
any row is refused, unless `skip_refused` asks for the others alone; the one-time passwords are in
its answer, once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from api.deps import AdminUser, DbSession
from archive import staff
from archive.staff.schemas import StaffImportOut, StaffPreview

router = APIRouter(prefix="/schools/{code}/staff-import", tags=["people"])
StaffFile = Annotated[UploadFile, File(description="The staff list: .xlsx, or .csv in UTF-8, UTF-16 or Windows-1258")]


@router.post("/preview", response_model=StaffPreview)
def preview(code: str, file: StaffFile, _: AdminUser, session: DbSession) -> StaffPreview:
    data = file.file.read(staff.MAX_BYTES + 1)
    found, _lines = staff.read_file(session, code, data, file.filename or "file")
    return found


@router.post("", response_model=StaffImportOut, status_code=201)
def import_staff(
    code: str,
    file: StaffFile,
    actor: AdminUser,
    session: DbSession,
    skip_refused: Annotated[bool, Query(description="Import the rows that pass and leave out the refused")] = False,
) -> StaffImportOut:
    data = file.file.read(staff.MAX_BYTES + 1)
    found, lines = staff.read_file(session, code, data, file.filename or "file")
    chosen = {r.row for r in found.rows if r.ok} if skip_refused else None
    return staff.import_lines(session, actor, code, lines, chosen)
