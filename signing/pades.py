"""PAdES signatures on PDFs via pyHanko, set up once per batch and applied per document.

What the batch shares (built once): the signer with its key loaded, the TSA client, the validation
context for B-LT/B-LTA, and the rendered stamp. Per document, the signature size is reserved up
front (`bytes_reserved`) so pyHanko signs once instead of twice (DESIGN §9).

Levels (ETSI EN 319 142): B-B signature only; B-T adds the TSA's RFC 3161 timestamp; B-LT embeds
the chain's revocation info (DSS); B-LTA adds a document timestamp over all of it.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.generic import pdf_name
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
from signing import stamp as stamps
from signing.exceptions import ItemError, ServiceUnavailable
from signing.models import StampPlace
from signing.stamp import Stamp

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
A4 = (595.3, 841.9)
SIGNATURE_PAGE_ROOM = (56.0, 260.0)  # an added page's side margin, and the height its note and margins take
RESERVED = {"B-B": 12 * 1024, "B-T": 20 * 1024, "B-LT": 20 * 1024, "B-LTA": 20 * 1024}


class _StampPage(PdfContent):
    """The batch's stamp page, parsed once per batch and imported into each document (pyHanko's own reads a file)."""

    def __init__(self, reader: PdfFileReader) -> None:
        super().__init__()
        self.reader = reader

    def render(self) -> bytes:
        w = self._ensure_writer
        xobj = w.import_page_as_xobject(self.reader, page_ix=0)
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
    stamp_fallback: str = "added-page"  # no blank room: "added-page" or "first-page" (signing.placement)
    _stamp_reader: PdfFileReader | None = None
    _signature_pages: dict[tuple[float, float], tuple[bytes, tuple[int, int, int, int]]] = field(default_factory=dict)

    def stamp_reader(self) -> PdfFileReader:
        """The stamp PDF parsed once for the whole batch (it was 16 ms of every signature)."""
        assert self.stamp is not None
        if self._stamp_reader is None:
            self._stamp_reader = PdfFileReader(io.BytesIO(self.stamp.pdf))
        return self._stamp_reader

    def signature_page(self, size: tuple[float, float]) -> tuple[bytes, tuple[float, float], tuple[int, int, int, int]]:
        """The added signature page for documents of this page size (drawn once per batch): its PDF, its
        size and the stamp's box. A last page too small for the note and the stamp (a label) gets A4."""
        assert self.stamp is not None
        width, height = round(size[0], 1), round(size[1], 1)
        side, height_needed = SIGNATURE_PAGE_ROOM
        if width < self.stamp.width + 2 * side or height < self.stamp.height + height_needed:
            width, height = A4
        if (width, height) not in self._signature_pages:
            drawn, box = stamps.signature_page(width, height, self.stamp.width, self.stamp.height)
            self._signature_pages[(width, height)] = (drawn, box)
        drawn, box = self._signature_pages[(width, height)]
        return drawn, (width, height), box

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
        stamp_fallback: str = "added-page",
    ) -> PadesSetup:
        cls.check_level(level, tsa_url)
        timestamper = timestamps.HTTPTimeStamper(tsa_url, timeout=20, session=http) if level != "B-B" else None
        return cls(signer, level, stamp, stamp_page, timestamper, validation_context, reason, location, stamp_fallback)


@dataclass(frozen=True)
class Signed:
    pdf: bytes
    page_index: int
    box: tuple[int, int, int, int] | None
    signed_at: datetime
    place: StampPlace = StampPlace.last_page


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


def _signer_for(
    setup: PadesSetup, pdf: bytes, field_name: str
) -> tuple[IncrementalPdfFileWriter, signers.PdfSigner, placement.Placement]:
    """The writer, the configured pyHanko signer and where the stamp goes, for one document."""
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
            signed_before = bool(writer.prev.embedded_signatures)
            where = placement.find(
                pdf, setup.stamp_page, setup.stamp.width, setup.stamp.height, setup.stamp_fallback, not signed_before
            )
        except Exception as e:  # PDFium could not render the page: the item fails alone, with the reason
            raise ItemError("Không hiển thị được trang PDF.", f"The PDF page could not be rendered: {e}") from None
        if where.place == StampPlace.added_page:
            where = _add_signature_page(writer, setup, where)
        if where.box is not None:
            stamp_style = StaticStampStyle(background=_StampPage(setup.stamp_reader()), border_width=0)
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
    return writer, pdf_signer, where


def _add_signature_page(
    writer: IncrementalPdfFileWriter, setup: PadesSetup, where: placement.Placement
) -> placement.Placement:
    """Append the signature page (the last page's size) in the signing revision; the stamp's place on it."""
    page_pdf, (width, height), box = setup.signature_page(where.size)
    drawn = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(page_pdf)), page_ix=0)
    content = writer.add_object(generic.StreamObject(stream_data=b"q /HosoSignaturePage Do Q"))
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject([generic.FloatObject(v) for v in (0, 0, width, height)]),
            pdf_name("/Resources"): generic.DictionaryObject(
                {pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/HosoSignaturePage"): drawn})}
            ),
            pdf_name("/Contents"): content,
        }
    )
    writer.insert_page(page)
    return placement.Placement(where.page_index, box, StampPlace.added_page, (width, height))


async def sign(setup: PadesSetup, pdf: bytes, field_name: str) -> Signed:
    """Sign one PDF; existing signatures are kept intact (incremental update)."""
    writer, pdf_signer, where = _signer_for(setup, pdf, field_name)
    out = io.BytesIO()
    with _failures():
        await pdf_signer.async_sign_pdf(writer, bytes_reserved=RESERVED[setup.level], output=out)
    return Signed(
        pdf=out.getvalue(), page_index=where.page_index, box=where.box, signed_at=datetime.now(UTC), place=where.place
    )


@dataclass(frozen=True)
class Prepared:
    """A PDF in its final pre-signing state, waiting for a signature made elsewhere (the principal's PC)."""

    pdf: bytes
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    signed_attrs: bytes  # DER of the CMS signed attributes: their SHA-256 is what the key signs
    page_index: int
    box: tuple[int, int, int, int] | None
    place: StampPlace = StampPlace.last_page


async def prepare(setup: PadesSetup, pdf: bytes, field_name: str) -> Prepared:
    """Allocate the signature in the PDF and compute the signed attributes (pyHanko's interrupted signing).

    `setup.signer` is an `ExternalSigner` with the client's certificate. Revocation info (B-LT) and
    the document timestamp (B-LTA) are added when the signature comes back (`finish`).
    """
    pre_sign = dataclasses.replace(setup, level="B-B", timestamper=None, validation_context=None)
    writer, pdf_signer, where = _signer_for(pre_sign, pdf, field_name)
    out = io.BytesIO()
    with _failures():
        digest, _tbs, _ = await pdf_signer.async_digest_doc_for_signing(
            writer, bytes_reserved=RESERVED[setup.level], output=out
        )
        attrs = await setup.signer.signed_attrs(digest.document_digest, "sha256", use_pades=True)
    return Prepared(
        pdf=out.getvalue(),
        document_digest=digest.document_digest,
        reserved_start=digest.reserved_region_start,
        reserved_end=digest.reserved_region_end,
        signed_attrs=attrs.dump(),
        page_index=where.page_index,
        box=where.box,
        place=where.place,
    )


async def finish(setup: PadesSetup, prepared: Prepared, signature_value: bytes) -> bytes:
    """Embed the returned signature value, then timestamp (B-T), add revocation info (B-LT), archive (B-LTA)."""
    from asn1crypto import cms
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
    from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
    from pyhanko.sign.validation import dss

    signer = signers.ExternalSigner(
        setup.signer.signing_cert, setup.signer.cert_registry, signature_value=signature_value
    )
    out = io.BytesIO(prepared.pdf)
    with _failures():
        cms_obj = await signer.async_sign_prescribed_attributes(
            "sha256", cms.CMSAttributes.load(prepared.signed_attrs), timestamper=setup.timestamper
        )
        digest = PreparedByteRangeDigest(prepared.document_digest, prepared.reserved_start, prepared.reserved_end)
        await PdfTBSDocument.async_finish_signing(out, digest, cms_obj)
        if setup.level in ("B-LT", "B-LTA"):
            vc = setup.validation_context
            assert vc is not None, "a B-LT/B-LTA setup is built with its validation context"
            reader = PdfFileReader(out, strict=False)
            embedded = reader.embedded_regular_signatures[-1]
            revinfo = io.BytesIO()
            await dss.async_add_validation_info(embedded, vc, output=revinfo)
            out = revinfo
        if setup.level == "B-LTA":
            assert setup.timestamper is not None, "B-LTA needs a TSA (PadesSetup.check_level)"
            archived = io.BytesIO()
            await signers.PdfTimeStamper(setup.timestamper).async_timestamp_pdf(
                IncrementalPdfFileWriter(out, strict=False),
                "sha256",
                setup.validation_context,
                output=archived,
            )
            out = archived
    return out.getvalue()


def _unavailable(e: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(
        "Dịch vụ dấu thời gian/kiểm tra thu hồi không trả lời; đợt ký tạm dừng.",
        f"The TSA/revocation service did not answer; the batch is paused: {e}",
    )


@contextmanager
def _failures() -> Iterator[None]:
    """pyHanko's errors as hoso's: a service down pauses the batch; a bad document fails alone."""
    try:
        yield
    except SigningError as e:
        if is_network_failure(e):
            raise _unavailable(e) from e
        raise ItemError("Không ký được tệp PDF này.", f"This PDF cannot be signed: {e}") from None
    except PdfError as e:
        raise ItemError("Tệp PDF bị hỏng, không ký được.", f"The PDF is damaged and cannot be signed: {e}") from None
    except Exception as e:
        if is_network_failure(e):
            raise _unavailable(e) from e
        raise


def _has_only_digital_signature(signer: signers.Signer) -> bool:
    usage = signer.signing_cert.key_usage_value if signer.signing_cert else None
    return usage is not None and "non_repudiation" not in set(usage.native)


def _invisible() -> StaticStampStyle:
    return StaticStampStyle(background=None, border_width=0)
