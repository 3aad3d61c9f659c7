"""The school's seal on an authenticated copy (bản sao có xác thực): a PAdES signature made with the
organisation's certificate, its visible stamp top-right of the first page.

NĐ 30/2020 Phụ lục I: the agency's signature on an attachment sits top-right of its first page,
showing the seal image when there is one, and the text "document number + signing time (ISO
8601)" in Times New Roman 10 (Liberation Serif here), black. The copy's first page is its
authentication page, drawn with that corner empty (retention.copies.stamp.seal_box), so the stamp
goes to a known place instead of a searched-for blank (signing.placement is for documents hoso did
not draw). The key is the school's seal: a PKCS#12 given when the copy is issued, or the token
attached to the server (signing.service.server_key), checked before it signs (TT 15/2025/TT-BKHCN).
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from typing import BinaryIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.stamp import StaticStampStyle

from archive.fonts import VN_TIME, register_fonts
from signing import certcheck, levels
from signing.keys import KeySource
from signing.pades import RESERVED, _failures, _StampPage
from signing.settings import SigningSettings
from signing.stamp import Stamp

FIELD = "HOSO_BAN_SAO_XAC_THUC"


def render_stamp(
    school: str, number: str, when: datetime, width: float, height: float, image: bytes | None = None
) -> Stamp:
    """The seal's appearance: the seal image (if any) on the left, then the school, the copy's number
    and the signing time in ISO 8601, Liberation Serif 10, black."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    regular, bold = register_fonts(None)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(width, height), pageCompression=1)
    c.setTitle("hoso seal stamp")
    x = 4.0
    if image:
        reader = ImageReader(io.BytesIO(image))
        iw, ih = reader.getSize()
        side = height - 8
        w = min(side, iw * side / ih)
        c.drawImage(reader, x, 4, width=w, height=side, mask="auto", preserveAspectRatio=True)
        x += w + 4
    c.setFillColorRGB(0, 0, 0)
    lines = [
        (bold, school),
        (regular, f"Số: {number}"),
        (regular, when.astimezone(VN_TIME).isoformat(timespec="seconds")),
    ]
    y = height - 16
    for font, text in lines:
        size = 10.0
        while size > 6 and c.stringWidth(text, font, size) > width - x - 4:
            size -= 0.5
        c.setFont(font, size)
        c.drawString(x, y, text)
        y -= 13
    c.setFont(regular, 8)
    c.drawString(x, y, "Bản sao có xác thực — ký số")
    c.showPage()
    c.save()
    return Stamp(pdf=out.getvalue(), width=width, height=height)


def check_seal(settings: SigningSettings, key: KeySource) -> None:
    """The seal's certificate may sign at all (valid, trusted, not revoked): asked before anything is made.
    Whether it is the school's seal is signing/seal_ownership.py's question, asked next."""
    certcheck.check_signer(settings, key.certificate, key.chain)


def sign_copy(
    settings: SigningSettings,
    key: KeySource,
    pdf: BinaryIO,
    out: BinaryIO,
    box: tuple[int, int, int, int],
    *,
    school: str,
    number: str,
    image: bytes | None = None,
) -> datetime:
    """The copy in `pdf` signed with the seal (B-T with a TSA, else B-B) into `out` (files, so a large
    copy is not held in memory: pyHanko copies the input into the output and patches the signature
    in place); the signing time shown on it. The caller has run `check_seal` and the ownership check."""
    from datetime import UTC

    when = datetime.now(UTC)  # a signature's time is real time (archive/calendar.py): a third party checks it
    x1, y1, x2, y2 = box
    mark = render_stamp(school, number, when, x2 - x1, y2 - y1, image)
    level = levels.level_for(settings, levels.Purpose.copy_authentication)
    timestamper = timestamps.HTTPTimeStamper(settings.tsa_url, timeout=20) if settings.tsa_url else None
    writer = IncrementalPdfFileWriter(pdf, strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=f"Xác thực bản sao số {number}",
        location=school,
    )
    style = StaticStampStyle(background=_StampPage(PdfFileReader(io.BytesIO(mark.pdf))), border_width=0)
    pdf_signer = signers.PdfSigner(
        meta,
        key.signer,
        timestamper=timestamper if level != "B-B" else None,
        stamp_style=style,
        new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD, on_page=0, box=box),
    )
    with _failures():
        asyncio.run(pdf_signer.async_sign_pdf(writer, bytes_reserved=RESERVED[level], output=out))
    return when
