"""The words of each notification, in Vietnamese and English, from its kind and params.

Texts are made when shown, not stored: a page in English and an e-mail in Vietnamese read the same
row, and a better wording reaches old notifications too.
"""

from __future__ import annotations

from typing import Any

from archive.notifications.models import NotificationKind

_TEXTS: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.plan_returned: (
        "Kế hoạch «{title}» bị trả lại: {comment}",
        "The plan “{title}” was returned: {comment}",
    ),
    NotificationKind.plans_waiting: (
        "{count} kế hoạch chờ duyệt {period_vi}",
        "{count} plans wait for approval ({period})",
    ),
    NotificationKind.plans_signed: (
        "{count} kế hoạch của bạn {period_vi} đã được ký duyệt",
        "{count} of your plans for {period} were approved and signed",
    ),
    NotificationKind.evidence_ready: (
        "Gói chứng cứ ({records} hồ sơ) đã sẵn sàng để tải về",
        "The evidence package ({records} records) is ready to download",
    ),
    NotificationKind.copy_waiting: (
        "{requester} yêu cầu bản sao có xác thực «{title}»: chờ nhà trường cấp",
        "{requester} asks for an authenticated copy of “{title}”: waiting for the school to issue it",
    ),
    NotificationKind.copy_decided: (
        "Bản sao có xác thực «{title}» {outcome_vi}",
        "The authenticated copy of “{title}” {outcome}",
    ),
}

# What a person is sent by e-mail unless they choose otherwise: what needs them to act.
EMAIL_BY_DEFAULT = {
    NotificationKind.plan_returned: True,
    NotificationKind.plans_waiting: True,
    NotificationKind.plans_signed: False,
    NotificationKind.evidence_ready: True,
    NotificationKind.copy_waiting: True,
    NotificationKind.copy_decided: True,
}

KIND_VI = {
    NotificationKind.plan_returned: "Kế hoạch của tôi bị trả lại",
    NotificationKind.plans_waiting: "Kế hoạch chờ tôi duyệt",
    NotificationKind.plans_signed: "Kế hoạch của tôi đã được ký duyệt",
    NotificationKind.evidence_ready: "Gói chứng cứ đã sẵn sàng",
    NotificationKind.copy_waiting: "Yêu cầu bản sao có xác thực chờ tôi cấp",
    NotificationKind.copy_decided: "Bản sao có xác thực tôi yêu cầu đã được cấp hoặc từ chối",
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def text(kind: str, params: dict[str, Any], lang: str = "vi") -> str:
    """The sentence for this notification in `lang` ("vi" or "en"); a missing param reads as blank."""
    vi, en = _TEXTS[NotificationKind(kind)]
    return (en if lang == "en" else vi).format_map(_Blank(params))
