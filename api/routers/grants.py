"""Inspection grants: an admin or the school's principal gives an inspector read access for a decision.

Every grant carries the fingerprint of the archive's seal, so the inspector who receives it can
prove, offline, that an evidence package came from this archive (`hoso verify --seal-fingerprint`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from api.deps import current_user, get_session, get_settings
from archive import grants
from archive.models import Person
from archive.schemas import GrantCreate, GrantOut, GrantRevoke, RowId
from archive.settings import Settings
from signing import seal

router = APIRouter(prefix="/grants", tags=["inspection"])


@router.post("", response_model=GrantOut, status_code=201)
def create_grant(
    body: GrantCreate,
    actor: Person = Depends(current_user),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GrantOut:
    """Read access for an inspection: schools, record types (empty: all), school years, until `expires_at`."""
    fingerprint = seal.published_fingerprint(settings)  # first: a seal that cannot be read grants nothing
    return grants.out(grants.create(session, actor, body), fingerprint)


@router.get("", response_model=list[GrantOut])
def list_grants(
    actor: Person = Depends(current_user),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> list[GrantOut]:
    """Admin: all; principal: those touching their school; inspector: their own (active and past)."""
    fingerprint = seal.published_fingerprint(settings)
    return [grants.out(g, fingerprint) for g in grants.visible(session, actor)]


@router.post("/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(
    grant_id: RowId,
    body: GrantRevoke,
    actor: Person = Depends(current_user),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GrantOut:
    """End a grant now, with the reason; the inspector's next request is refused."""
    fingerprint = seal.published_fingerprint(settings)
    return grants.out(grants.revoke(session, actor, grant_id, body), fingerprint)
