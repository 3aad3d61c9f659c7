"""Who opens which page: one table for the menu and the pages' own checks (issue #15 item 3), so a
role never sees a menu entry that answers "Bạn không có quyền", nor misses one it may open.

The role sets come from the domains' rules (archive.access, signing.statistics, retention.holds);
a page module imports its set from here rather than writing its own."""

from __future__ import annotations

from dataclasses import dataclass

from archive import access
from archive.models import Person, Role, UnitRole
from retention.dossiers import common as dossiers
from retention.holds import MANAGERS
from signing import statistics

SIGNERS = frozenset({Role.principal, Role.vice_principal, Role.clerk})  # the approval queue and signing
KEEPERS = frozenset({*MANAGERS, Role.admin})  # retention: holds, reviews, fixity, transfers
STATS_VIEWERS = frozenset({*statistics.VIEWERS, Role.admin})
GRANTORS = frozenset({Role.admin, Role.principal})  # inspection grants
ADMINS = frozenset({Role.admin})
ADMIN_ONLY = "Trang này dành cho quản trị viên."  # the refusal of an admin page (translated where shown)
UPLOADERS = frozenset(access.CREATORS)
EXPORTERS = frozenset({Role.inspector, Role.principal, Role.vice_principal, Role.archivist, Role.clerk, Role.admin})
COPY_MENU = frozenset({Role.inspector, Role.clerk, Role.principal})  # who asks often, who issues (retention.copies)
DOSSIER_KEEPERS = frozenset({*dossiers.VIEWERS, Role.admin})  # the yearly list, filing, closing, handover
EVERYONE = frozenset(Role)
DASHBOARD_VIEWERS = frozenset({Role.admin})  # and every unit role (a Sở's or Phòng's people)
UNIT_PEOPLE = frozenset(UnitRole)
UNIT_GRANTORS = frozenset({UnitRole.head})  # a Sở's or Phòng's head grants its inspectors its schools
UNIT_VIEWERS = ADMINS  # the unit page: the system admin, and every unit role (for the units it reaches)


@dataclass(frozen=True)
class Entry:
    href: str
    label: str  # Vietnamese; the page's language via gettext
    roles: frozenset[Role]
    unit_roles: frozenset[UnitRole] = frozenset()  # roles at a Sở or Phòng that open it too


MENU = (
    Entry("/trang-chu", "Trang chủ", EVERYONE, UNIT_PEOPLE),
    Entry("/tim-kiem", "Tìm kiếm", EVERYONE, UNIT_PEOPLE),
    Entry("/tai-len", "Tải lên", UPLOADERS),
    Entry("/duyet", "Duyệt", SIGNERS),
    Entry("/goi-chung-cu", "Gói chứng cứ", EXPORTERS),
    Entry("/ban-sao", "Bản sao", COPY_MENU),
    Entry("/luu-tru", "Lưu trữ", KEEPERS),
    Entry("/danh-muc-ho-so", "Hồ sơ", DOSSIER_KEEPERS),
    Entry("/thong-ke", "Thống kê", STATS_VIEWERS),
    Entry("/tong-hop", "Tổng hợp", DASHBOARD_VIEWERS, UNIT_PEOPLE),
    Entry("/don-vi", "Đơn vị", UNIT_VIEWERS, UNIT_PEOPLE),
    Entry("/cap-quyen-thanh-tra", "Cấp quyền thanh tra", GRANTORS, UNIT_GRANTORS),
    Entry("/quan-tri", "Quản trị", ADMINS),
)


def may(person: Person, roles: frozenset[Role], unit_roles: frozenset[UnitRole] = frozenset()) -> bool:
    return any(m.role in roles for m in person.memberships) or any(
        m.role in unit_roles for m in person.unit_memberships
    )


def entries(person: Person | None) -> list[Entry]:
    """The menu of this person: only the pages their roles open."""
    return [e for e in MENU if person is not None and may(person, e.roles, e.unit_roles)]
