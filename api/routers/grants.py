"""Inspection grants: an admin or the school's principal gives an inspector read access for a decision.

Every grant carries the fingerprint of the archive's seal, so the inspector who receives it can
prove, offline, that an evidence package came from this archive (`hoso verify --seal-fingerprint`).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser, DbSession, SettingsDep
from archive import grants
from archive.grant_schemas import GrantCreate, GrantOut, GrantRevoke
from archive.schemas import RowId
from signing import seal

router = APIRouter(prefix="/grants", tags=["inspection"])


@router.post("", response_model=GrantOut, status_code=201)
def create_grant(
    body: GrantCreate,
    actor: CurrentUser,
    session: DbSession,
    settings: SettingsDep,
) -> GrantOut:
    """Read access for an inspection: schools, record types (empty: all), school years, until `expires_at`."""
    fingerprint = seal.published_fingerprint(settings)  # first: a seal that cannot be read grants nothing
    return grants.out(grants.create(session, actor, body), fingerprint)


@router.get("", response_model=list[GrantOut])
def list_grants(
    actor: CurrentUser,
    session: DbSession,
    settings: SettingsDep,
) -> list[GrantOut]:
    """Admin: all; principal: those touching their school; inspector: their own (active and past)."""
    fingerprint = seal.published_fingerprint(settings)
    return [grants.out(g, fingerprint) for g in grants.visible(session, actor)]


@router.post("/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(
    grant_id: RowId,
    body: GrantRevoke,
    actor: CurrentUser,
    session: DbSession,
    settings: SettingsDep,
) -> GrantOut:
    """End a grant now, with the reason; the inspector's next request is refused."""
    fingerprint = seal.published_fingerprint(settings)
    return grants.out(grants.revoke(session, actor, grant_id, body), fingerprint)
