"""The Vietnamese names people read in place of the codes hoso keeps (issue #15: no internal code on
a page). States' labels for the status badges, search facets' values, and the names of schools,
record types and people looked up once per page, so a template never prints a code by itself.

A badge's label comes from here and nowhere else (`_ui.html` `badge(state)`): the shared UI
vocabulary names a badge by the StrEnum value (`badge-submitted`), and this table gives its words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web.i18n import gettext, lang
from archive.models import Person, RecordStatus, RecordType, School, UnitKind, UnitRole
from retention.models import RetentionState
from signing.models import BatchState, Decision, SignState

TYPE_NAMES = select(RecordType.code, RecordType.name_vi, RecordType.name_en)
BADGE_VI: dict[str, str] = {
    RecordStatus.draft: "Bản nháp",
    RecordStatus.submitted: "Đã nộp",
    RecordStatus.approved: "Đã duyệt",
    RecordStatus.returned: "Trả lại",
    RecordStatus.destroyed: "Đã hủy",
    Decision.pending: "Chờ duyệt",
    SignState.signed: "Đã ký",
    SignState.unsigned: "Chưa ký",
    SignState.failed: "Ký lỗi",
    BatchState.open: "Đang mở",
    BatchState.signing: "Đang ký",
    "held": "Tạm giữ",
    RetentionState.review: "Xem xét hủy",
    RetentionState.active: "Đang lưu",
    RetentionState.proposed: "Đề nghị hủy",
    RetentionState.transferred: "Đã nộp lưu",
}
RETENTION_VI: dict[str, str] = {
    RetentionState.active: "Trong thời hạn",
    RetentionState.review: "Xem xét hủy",
    RetentionState.proposed: "Đề nghị hủy",
    RetentionState.destroyed: "Đã hủy",
    RetentionState.transferred: "Đã nộp lưu",
}
UNIT_KIND_VI: dict[str, str] = {UnitKind.so: "Sở GDĐT", UnitKind.phong: "Phòng GDĐT"}
UNIT_ROLE_VI: dict[str, str] = {
    UnitRole.admin: "Quản trị đơn vị",
    UnitRole.head: "Lãnh đạo đơn vị",
    UnitRole.inspector: "Thanh tra đơn vị",
}
SIGNED_VI = {"yes": "Đã ký số", "no": "Chưa ký số"}
MEDIA_VI = {"document": "Văn bản", "sheet": "Bảng tính", "video": "Video"}
STATUS_VI: dict[str, str] = {
    RecordStatus.draft: "Bản nháp",
    RecordStatus.submitted: "Đã nộp, chờ duyệt",
    RecordStatus.approved: "Đã duyệt",
    RecordStatus.returned: "Bị trả lại",
    RecordStatus.destroyed: "Đã hủy theo quyết định",
}
FIXED: dict[str, dict[str, str]] = {
    "status": STATUS_VI,
    "signed": SIGNED_VI,
    "retention": RETENTION_VI,
    "media": MEDIA_VI,
}


def badge_label(state: Any) -> str:
    return gettext(BADGE_VI.get(str(state), str(state)))


def yes_no(value: Any) -> str:
    return gettext("Có") if value else gettext("Không")


@dataclass
class Names:
    """Schools, record types and people by their codes, for one page."""

    schools: dict[str, str] = field(default_factory=dict)
    types: dict[str, tuple[str, str]] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def school(self, code: str) -> str:
        return self.schools.get(code, code)

    def type(self, code: str) -> str:
        vi, en = self.types.get(code, (code, ""))
        return en if lang() == "en" and en else vi

    def school_list(self, codes: list[str]) -> str:
        return ", ".join(self.school(c) for c in codes)

    def type_list(self, codes: list[str]) -> str:
        return ", ".join(sorted(self.type(c) for c in codes))

    def person(self, username: str) -> str:
        return self.people.get(username, username)

    def facet(self, name: str, value: str) -> str:
        """A search facet's value as a person calls it (a month or a class is already plain)."""
        if name == "school_code":
            return self.school(value)
        if name == "record_type":
            return self.type(value)
        if name == "teacher":
            return self.person(value)
        return gettext(FIXED[name].get(value, value)) if name in FIXED else value


def names(session: Session, usernames: set[str] | frozenset[str] = frozenset()) -> Names:
    found = Names(
        schools={code: name for code, name in session.execute(select(School.code, School.name))},
        types={c: (vi, en) for c, vi, en in session.execute(TYPE_NAMES)},
    )
    if usernames:
        rows = session.execute(select(Person.username, Person.full_name).where(Person.username.in_(usernames)))
        found.people = {username: name for username, name in rows}
    return found
