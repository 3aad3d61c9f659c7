"""A font that writes Vietnamese, for every PDF hoso draws (stamps, approval records, biên bản).

Liberation Serif (Debian fonts-liberation2) is the free metric twin of Times New Roman, the font
NĐ 30/2020 prescribes; Liberation 1.x lacks Ệ, Ư, Ở…, so every candidate is checked for the
Vietnamese letters before it is used.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from archive.calendar import VN_TIME  # noqa: F401  (re-exported: stamps and records print Hanoi time)
from archive.exceptions import FontMissing

CANDIDATES = [
    Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
]
VIETNAMESE = "ĐđÂâĂăÊêÔôƠơƯưẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ"


def _bold_of(regular: Path) -> Path:
    for name in (regular.name.replace("-Regular", "-Bold"), regular.stem + "-Bold" + regular.suffix):
        if (regular.parent / name).exists():
            return regular.parent / name
    return regular


@lru_cache(maxsize=4)
def font_file(configured: Path | None = None) -> Path:
    """The TrueType file `register_fonts` uses, for drawing with Pillow (a read copy's watermark)."""
    from reportlab.pdfbase.ttfonts import TTFont

    for regular in [configured] if configured else CANDIDATES:
        if regular.exists() and all(ord(ch) in TTFont("probe", str(regular)).face.charToGlyph for ch in VIETNAMESE):
            return regular
    raise FontMissing(
        "Thiếu phông chữ có đủ dấu tiếng Việt (cài gói fonts-liberation2 hoặc đặt HOSO_STAMP_FONT).",
        "No font with full Vietnamese coverage (install fonts-liberation2 or set HOSO_STAMP_FONT).",
    )


@lru_cache(maxsize=4)
def register_fonts(configured: Path | None = None) -> tuple[str, str]:
    """Register the first font covering Vietnamese with reportlab; returns its (regular, bold) names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for regular in [configured] if configured else CANDIDATES:
        if not regular.exists():
            continue
        font = TTFont(f"Hoso-{regular.stem}", str(regular))
        if all(ord(ch) in font.face.charToGlyph for ch in VIETNAMESE):
            bold = TTFont(f"Hoso-{regular.stem}-Bold", str(_bold_of(regular)))
            pdfmetrics.registerFont(font)
            pdfmetrics.registerFont(bold)
            return font.fontName, bold.fontName
    raise FontMissing(
        "Thiếu phông chữ có đủ dấu tiếng Việt (cài gói fonts-liberation2 hoặc đặt HOSO_STAMP_FONT).",
        "No font with full Vietnamese coverage (install fonts-liberation2 or set HOSO_STAMP_FONT).",
    )
