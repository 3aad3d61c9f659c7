"""The compliance dashboard page (`/tong-hop`): a Sở's or Phòng's schools in one month (signing/compliance.py),
with the schools late to sign first, a drill-down to each school's statistics, and the CSV for Excel."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.web.i18n import said, t
from api.web.menu import DASHBOARD_VIEWERS, UNIT_PEOPLE, may
from api.web.rendering import page_viewer, render
from archive import calendar, units
from archive.exceptions import HosoError
from signing import compliance

router = APIRouter(include_in_schema=False)


@router.get("/tong-hop", response_class=HTMLResponse)
def dashboard_page(request: Request, session: DbSession, don_vi: str = "", ky: str = "") -> Response:
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    if not may(person, DASHBOARD_VIEWERS, UNIT_PEOPLE):
        message = t("Bảng tổng hợp dành cho lãnh đạo, quản trị và thanh tra của Sở, Phòng GDĐT.")
        return render(request, "error.html", person, status_code=403, message=message)
    choices = units.visible_units(session, person)
    period = ky or calendar.this_month()
    unit = next((u for u in choices if u.code == don_vi), choices[0] if choices else None)
    report, error = None, ""
    if unit is not None:
        try:
            report = compliance.compute(session, person, unit.code, period)
        except HosoError as e:
            error = said(e)
    session.commit()
    return render(
        request,
        "compliance.html",
        person,
        status_code=422 if error else 200,
        units=choices,
        unit=unit,
        period=period,
        report=report,
        states=compliance.STATE_VI,
        error=error,
    )
