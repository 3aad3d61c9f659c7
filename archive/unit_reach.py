"""How far a person's unit roles reach: the units at or under theirs, and the schools there.

Apart from archive/units.py (which makes units and their people) so that archive/grants.py and the
statistics can ask without importing the service layer. Units are few (one Sở and its twenty-odd
Phòng), so a subtree is walked in Python over one small query and handed to SQL as a sub-select
of school ids, never as a list of a thousand ids.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from archive.models import Person, School
from archive.unit_models import OrgUnit, UnitRole

ALL_ROLES = frozenset(UnitRole)


def subtree_ids(session: Session, roots: Collection[int]) -> set[int]:
    """The units at or under `roots` (one query over the small units table)."""
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.execute(select(OrgUnit.id, OrgUnit.parent_id)):
        children.setdefault(parent, []).append(uid)
    found, todo = set(), list(roots)
    while todo:
        uid = todo.pop()
        if uid not in found:
            found.add(uid)
            todo.extend(children.get(uid, []))
    return found


def unit_ids_of(person: Person, roles: Collection[str] = ALL_ROLES) -> set[int]:
    """The units where the person holds one of `roles` (not their subtrees)."""
    return {m.unit_id for m in person.unit_memberships if m.role in roles}


def has_unit_role(person: Person, roles: Collection[str] = ALL_ROLES) -> bool:
    return bool(unit_ids_of(person, roles))


def reach(session: Session, person: Person, roles: Collection[str] = ALL_ROLES) -> set[int]:
    """Every unit the person reaches through one of `roles`: their units and everything under them."""
    return subtree_ids(session, unit_ids_of(person, roles))


def schools_under(unit_ids: Collection[int]) -> Select[int]:
    """A sub-select of the ids of the schools sitting directly under any of `unit_ids`."""
    return select(School.id).where(School.unit_id.in_(list(unit_ids)))


def reaches_school(session: Session, person: Person, school: School, roles: Collection[str] = ALL_ROLES) -> bool:
    return school.unit_id is not None and school.unit_id in reach(session, person, roles)
