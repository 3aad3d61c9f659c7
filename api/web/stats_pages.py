"""The statistics page: one school's month in tables, the chart, and CSV/SVG downloads (signing/statistics.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import get_session
from api.web.i18n import said, t
from api.web.menu import STATS_VIEWERS as VIEWERS
from api.web.menu import UNIT_PEOPLE, may
from api.web.rendering import page_viewer, render
from archive import access, calendar, unit_reach
from archive.exceptions import HosoError
from archive.models import School
from signing import statistics

router = APIRouter(include_in_schema=False)


@router.get("/thong-ke", response_class=HTMLResponse)
def statistics_page(
    request: Request, truong: str = "", ky: str = "", session: Session = Depends(get_session)
) -> Response:
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    if not may(person, VIEWERS, UNIT_PEOPLE):
        message = t("Thống kê dành cho ban giám hiệu và tổ trưởng chuyên môn.")
        return render(request, "error.html", person, status_code=403, message=message)
    if access.is_admin(person):
        schools = list(session.scalars(select(School).order_by(School.code)))
    else:
        seen = {m.school for m in person.memberships if m.role in statistics.VIEWERS and m.school is not None}
        reached = unit_reach.schools_under(unit_reach.reach(session, person))  # a Sở's or Phòng's drill-down
        seen |= set(session.scalars(select(School).where(School.id.in_(reached))))
        schools = sorted(seen, key=lambda s: s.code)
    period = ky or calendar.this_month()
    school = next((s for s in schools if s.code == truong), schools[0] if schools else None)
    stats, error = None, ""
    if school is not None:
        try:
            stats = statistics.compute(session, person, school.code, period)
        except HosoError as e:
            error = said(e)
    session.commit()
    return render(
        request,
        "statistics.html",
        person,
        status_code=422 if error else 200,
        schools=schools,
        school=school,
        period=period,
        stats=stats,
        error=error,
    )
