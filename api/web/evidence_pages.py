"""Evidence packages from the search page: the chosen records (or everything a search finds) become a
sealed package built by the worker; the list page follows it and downloads it with a progress bar.

The request goes through the same flow as the API's (`flows.evidence.exports`), so an inspector's export is held to
their grants and audited exactly as over the API. A refused export re-renders the search page with
the title typed and the records ticked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.deps import DbSession, HosoState
from api.web.forms import field_errors, form_poster, posted_form
from api.web.i18n import said, t
from api.web.menu import EXPORTERS
from api.web.pages import render_search
from api.web.rendering import page_viewer, render
from archive.exceptions import HosoError, InvalidInput
from flows.evidence import exports
from search.documents import FACETS
from search.models import ExportState
from search.schemas import EvidenceIn, SavedSearch
from signing import seal

router = APIRouter(include_in_schema=False)


def not_exporter() -> str:
    return t("Gói chứng cứ dành cho thanh tra, ban giám hiệu, văn thư và cán bộ lưu trữ.")


@router.post("/goi-chung-cu")
def request_package(
    request: Request, form: Annotated[FormData, Depends(posted_form)], session: DbSession, app_state: HosoState
) -> Response:
    person = form_poster(request, session, str(form.get("csrf_token", "")), EXPORTERS, not_exporter())
    if isinstance(person, Response):
        return person
    q = str(form.get("q", ""))
    filters = {n: [str(v) for v in form.getlist(f"f-{n}")] for n in FACETS if form.getlist(f"f-{n}")}
    page = int(str(form.get("page", "1"))) if str(form.get("page", "1")).isdigit() else 1
    whole = form.get("scope") == "search"
    chosen = [str(v) for v in form.getlist("record_ids")]
    typed: dict[str, Any] = {"title": str(form.get("title", "")).strip(), "record_ids": chosen}
    try:
        body = EvidenceIn(
            title=typed["title"],
            record_ids=[] if whole else chosen,
            search=SavedSearch(q=q, filters=filters) if whole else None,
        )
        if not whole and not chosen:
            raise InvalidInput(
                "Hãy đánh dấu ít nhất một hồ sơ, hoặc chọn “Xuất mọi hồ sơ tìm được”.",
                "Tick at least one record, or export everything the search found.",
            )
        made = exports.request(session, person, app_state, body)
    except ValidationError as e:
        found = field_errors(e)
        typed["errors"] = found | ({"title": t("Đặt tên cho gói chứng cứ.")} if "title" in found else {})
        return render_search(request, person, session, app_state, q, filters, page, typed)
    except HosoError as e:
        typed["errors"] = {"_": said(e)}
        return render_search(request, person, session, app_state, q, filters, page, typed)
    return RedirectResponse(f"/goi-chung-cu?tai={made.id}", status_code=303)


@router.get("/goi-chung-cu", response_class=HTMLResponse)
def packages_page(request: Request, session: DbSession, app_state: HosoState, tai: str = "") -> Response:
    """My packages: state (the page refreshes itself while one is being built), size, SHA-256, download,
    and the fingerprint of the seal they carry, which `hoso verify --seal-fingerprint` checks."""
    person = page_viewer(request, session, EXPORTERS, not_exporter())
    if isinstance(person, Response):
        return person
    packages = exports.list_mine(session, person)
    session.commit()
    building = any(p.state in (ExportState.queued, ExportState.building) for p in packages)
    fingerprint = seal.published_fingerprint(app_state.settings)
    return render(
        request,
        "evidence.html",
        person,
        packages=packages,
        building=building,
        seal_fingerprint=fingerprint,
        fetch_when_ready=tai,  # the package just asked for downloads by itself once it is built
    )
