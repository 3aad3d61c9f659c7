"""Monthly statistics of one school (signing/statistics.py) as JSON, CSV for Excel, and an SVG chart."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import CurrentUser, DbSession
from api.routers import file_body
from signing import schemas
from signing import statistics as signing_statistics

router = APIRouter(prefix="/statistics", tags=["statistics"])


@router.get("", response_model=schemas.StatisticsOut)
def statistics(school_code: str, period: str, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    """One month of one school: by teacher (with recorded lessons against the target), subject, grade/class."""
    return signing_statistics.compute(session, person, school_code, period).as_dict()


@router.get("/csv", response_class=Response, responses=file_body("text/csv", "The month as CSV, for Excel"))
def statistics_csv(school_code: str, period: str, person: CurrentUser, session: DbSession) -> Response:
    stats = signing_statistics.compute(session, person, school_code, period)
    name = f"thong-ke-{stats.school_code}-{stats.period}.csv"
    return Response(
        signing_statistics.to_csv(stats),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/svg", response_class=Response, responses=file_body("image/svg+xml", "The month as a chart"))
def statistics_svg(school_code: str, period: str, person: CurrentUser, session: DbSession) -> Response:
    return Response(
        signing_statistics.to_svg(signing_statistics.compute(session, person, school_code, period)),
        media_type="image/svg+xml",
    )
