"""What needs a person's attention on the home page, by role. It reads the kernel (their records),
signing (submissions and the principal's queue), retention (reviews, fixity, transfers, dossier handovers) and search
(evidence packages), so it is a flow; each domain answers its own part."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import access, calendar, grants, service, units
from archive.models import Person, Role
from retention import alerts
from search.models import EvidenceExport
from signing import periods, workflow

TEACHING = {Role.teacher, Role.department_head}
SIGNING = {Role.principal, Role.vice_principal, Role.clerk}
KEEPING = {Role.archivist, Role.principal}
DOSSIERS = {Role.clerk, Role.archivist, Role.principal}


def attention(session: Session, person: Person) -> dict[str, Any]:
    """The home page's blocks for this person: one per role they hold."""
    period = calendar.this_month()
    blocks: dict[str, Any] = {"period": periods.label(period)}
    roles = {m.role for m in person.memberships}
    schools = access.readable_school_ids(person)
    if roles & TEACHING:
        blocks["returned"], blocks["mine_recent"] = service.authored(session, person)
        blocks["submitted_now"] = workflow.submitted_by(session, person, period)
    if roles & SIGNING:
        blocks["queue"] = workflow.queue(session, schools, period)
    if person.unit_memberships:  # a Sở's or Phòng's people: their unit, its page and its dashboard
        blocks["units"] = units.own_units(session, person)
    if grants.is_inspector(person):  # the system's inspectors and a unit's
        blocks["grants"] = grants.clauses(session, person)
        blocks["exports"] = session.scalar(
            select(func.count()).select_from(EvidenceExport).where(EvidenceExport.requested_by_id == person.id)
        )
    if roles & KEEPING:
        blocks["in_review"] = alerts.in_review(session, schools)
        blocks["fixity"] = alerts.latest_fixity(session, person)  # their schools' findings only
        blocks["transfers_due"] = alerts.transfers_due(session, person)
    if roles & DOSSIERS:
        blocks["dossiers_due"] = alerts.dossiers_due(session, person)
    if Role.admin in roles:
        blocks["admin"] = service.totals(session)
    session.commit()
    return blocks
