"""The subjects a record is filed under, as the general-education programme names them.

Chosen from a list, not typed (issue #15): "Toán", "toán" and "Toan" typed by three teachers
were three facets in search and three rows in the principal's statistics. The names are those of
Chương trình giáo dục phổ thông 2018 (TT 32/2018/TT-BGDĐT), primary then lower and upper
secondary; a school's own subjects a teacher already used are offered beside them.
"""

from __future__ import annotations

SUBJECTS = (
    "Tiếng Việt",
    "Toán",
    "Đạo đức",
    "Tự nhiên và Xã hội",
    "Khoa học",
    "Lịch sử và Địa lí",
    "Tin học và Công nghệ",
    "Ngoại ngữ",
    "Tiếng Anh",
    "Âm nhạc",
    "Mĩ thuật",
    "Giáo dục thể chất",
    "Hoạt động trải nghiệm",
    "Ngữ văn",
    "Giáo dục công dân",
    "Khoa học tự nhiên",
    "Lịch sử",
    "Địa lí",
    "Công nghệ",
    "Tin học",
    "Vật lí",
    "Hóa học",
    "Sinh học",
    "Giáo dục kinh tế và pháp luật",
    "Giáo dục quốc phòng và an ninh",
    "Nghệ thuật",
    "Hoạt động trải nghiệm, hướng nghiệp",
    "Nội dung giáo dục của địa phương",
)


def offered(used: list[str]) -> list[str]:
    """The programme's subjects, then the ones this person used that it does not name (in their order)."""
    extra = [s for s in dict.fromkeys(used) if s and s not in SUBJECTS]
    return [*SUBJECTS, *extra]
