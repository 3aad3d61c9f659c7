"""PAdES signatures on PDFs via pyHanko, set up once per batch and applied per document.

What the batch shares (built once): the signer with its key loaded, the TSA client, the validation
context for B-LT/B-LTA, and the rendered stamp. Per document, the signature size is reserved up
front (`bytes_reserved`) so pyHanko signs once instead of twice (DESIGN §9).

Levels (ETSI EN 319 142): B-B signature only; B-T adds the TSA's RFC 3161 timestamp; B-LT embeds
the chain's revocation info (DSS); B-LTA adds a document timestamp over all of it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext

from archive.exceptions import InvalidInput
from signing import placement
from signing.exceptions import ItemError, ServiceUnavailable
from signing.stamp import Stamp

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
RESERVED = {"B-B": 12 * 1024, "B-T": 20 * 1024, "B-LT": 20 * 1024, "B-LTA": 20 * 1024}


class _StampPage(PdfContent):
    """The batch's stamp page, parsed from memory for each document (pyHanko's own reads a file)."""

    def __init__(self, pdf: bytes) -> None:
        super().__init__()
        self.pdf = pdf

    def render(self) -> bytes:
        w = self._ensure_writer
        xobj = w.import_page_as_xobject(PdfFileReader(io.BytesIO(self.pdf)), page_ix=0)
        self.resources.xobject["/HosoStamp"] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return b"/HosoStamp Do"


@dataclass
class PadesSetup:
    """Everything a batch's signatures share."""

    signer: signers.Signer
    level: str
    stamp: Stamp | None
    stamp_page: str
    timestamper: timestamps.TimeStamper | None
    validation_context: ValidationContext | None
    reason: str
    location: str | None = None

    @staticmethod
    def check_level(level: str, tsa_url: str | None) -> None:
        if level not in LEVELS:
            raise InvalidInput(
                f"Mức chữ ký '{level}' không hợp lệ (B-B, B-T, B-LT, B-LTA).",
                f"Unknown signature level {level!r} (B-B, B-T, B-LT, B-LTA).",
            )
        if level != "B-B" and not tsa_url:
            raise InvalidInput(
                f"Mức {level} cần dịch vụ cấp dấu thời gian (HOSO_TSA_URL).",
                f"Level {level} needs a time-stamping service (HOSO_TSA_URL).",
            )

    @classmethod
    def build(
        cls,
        signer: signers.Signer,
        level: str,
        stamp: Stamp | None,
        stamp_page: str,
        tsa_url: str | None,
        validation_context: ValidationContext | None,
        reason: str,
        location: str | None = None,
        http: aiohttp.ClientSession | None = None,
    ) -> PadesSetup:
        cls.check_level(level, tsa_url)
        timestamper = timestamps.HTTPTimeStamper(tsa_url, timeout=20, session=http) if level != "B-B" else None
        return cls(signer, level, stamp, stamp_page, timestamper, validation_context, reason, location)


@dataclass(frozen=True)
class Signed:
    pdf: bytes
    page_index: int
    box: tuple[int, int, int, int] | None
    signed_at: datetime


def is_network_failure(exc: BaseException) -> bool:
    """TSA/OCSP/CRL unreachable, anywhere in the exception chain."""
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko_certvalidator import errors as cv_errors

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(
            seen,
            TimestampRequestError
            | aiohttp.ClientError
            | ConnectionError
            | TimeoutError
            | cv_errors.InsufficientRevinfoError,
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def sign(setup: PadesSetup, pdf: bytes, field_name: str) -> Signed:
    """Sign one PDF; existing signatures are kept intact (incremental update)."""
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as e:
        raise ItemError("Tệp PDF bị hỏng, không đọc được.", f"The PDF is damaged and cannot be read: {e}") from None
    if writer.prev.encrypted:
        raise ItemError(
            "Tệp PDF được đặt mật khẩu/mã hóa; hãy nộp bản không mã hóa.",
            "The PDF is encrypted; submit an unencrypted copy.",
        )
    where = placement.Placement(0, None)
    stamp_style = None
    if setup.stamp is not None:
        try:
            where = placement.find(pdf, setup.stamp_page, setup.stamp.width, setup.stamp.height)
        except Exception as e:  # PDFium could not render the page: sign without a visible stamp
            raise ItemError("Không hiển thị được trang PDF.", f"The PDF page could not be rendered: {e}") from None
        if where.box is not None:
            stamp_style = StaticStampStyle(background=_StampPage(setup.stamp.pdf), border_width=0)
    field_spec = fields.SigFieldSpec(
        sig_field_name=field_name,
        on_page=where.page_index,
        box=where.box,
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=setup.reason,
        location=setup.location,
        embed_validation_info=setup.level in ("B-LT", "B-LTA"),
        use_pades_lta=setup.level == "B-LTA",
        validation_context=setup.validation_context if setup.level in ("B-LT", "B-LTA") else None,
        signer_key_usage={"digital_signature"} if _has_only_digital_signature(setup.signer) else {"non_repudiation"},
    )
    pdf_signer = signers.PdfSigner(
        meta,
        setup.signer,
        timestamper=setup.timestamper,
        stamp_style=stamp_style or _invisible(),
        new_field_spec=field_spec,
    )
    out = io.BytesIO()
    try:
        await pdf_signer.async_sign_pdf(writer, bytes_reserved=RESERVED[setup.level], output=out)
    except SigningError as e:
        if is_network_failure(e):
            raise ServiceUnavailable(
                "Dịch vụ dấu thời gian/kiểm tra thu hồi không trả lời; đợt ký tạm dừng.",
                f"The TSA/revocation service did not answer; the batch is paused: {e}",
            ) from e
        raise ItemError("Không ký được tệp PDF này.", f"This PDF cannot be signed: {e}") from None
    except PdfError as e:
        raise ItemError("Tệp PDF bị hỏng, không ký được.", f"The PDF is damaged and cannot be signed: {e}") from None
    except Exception as e:
        if is_network_failure(e):
            raise ServiceUnavailable(
                "Dịch vụ dấu thời gian/kiểm tra thu hồi không trả lời; đợt ký tạm dừng.",
                f"The TSA/revocation service did not answer; the batch is paused: {e}",
            ) from e
        raise
    return Signed(pdf=out.getvalue(), page_index=where.page_index, box=where.box, signed_at=datetime.now(UTC))


def _has_only_digital_signature(signer: signers.Signer) -> bool:
    usage = signer.signing_cert.key_usage_value if signer.signing_cert else None
    return usage is not None and "non_repudiation" not in set(usage.native)


def _invisible() -> StaticStampStyle:
    return StaticStampStyle(background=None, border_width=0)
