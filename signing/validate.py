"""Validation reports for signatures, in the terms an inspector checks, with Vietnamese labels.

Per signature: integrity, signer, trust path to a configured root, signing and timestamp times,
revocation status, PAdES level, and whether the document changed after signing. The checks are
pyHanko's; this module only decides what they mean for a person reading the report.
"""

from __future__ import annotations

import asyncio
import enum
import io
from typing import Any, BinaryIO

import aiohttp
from asn1crypto import cms
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    async_validate_detached_cms,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from archive.exceptions import InvalidInput
from signing import demo_cert, keys, trust
from signing.settings import SigningSettings

CHANGES_VI = {
    "none": "Không thay đổi sau khi ký",
    "lta_updates": "Chỉ bổ sung dữ liệu kiểm tra/dấu thời gian (được phép)",
    "form_filling": "Chỉ thêm chữ ký hoặc điền biểu mẫu sau khi ký (được phép)",
    "annotations": "Có thêm ghi chú sau khi ký",
    "other": "Tài liệu đã bị sửa sau khi ký",
    "unknown": "Không xác định được",
}
REVOCATION_VI = {"good": "Chưa bị thu hồi", "revoked": "Đã bị thu hồi", "unknown": "Không kiểm tra được"}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _revocation(status: Any) -> str:
    if status.revoked:
        return "revoked"
    return "good" if status.validation_path is not None and status.trusted else "unknown"


class Verdict(enum.StrEnum):
    """Whether a signature holds, typed: every report carries one (`verdict`), and its display texts
    (`summary_vi`, and the English) derive from it. Nothing decides by matching a text."""

    valid = "valid"
    valid_test_certificate = "valid_test_certificate"  # holds, but the certificate is hoso's demo one
    untrusted = "untrusted"  # intact, but the certificate does not chain to a trusted root
    revoked = "revoked"
    modified = "modified"  # intact, but the document changed after signing
    invalid = "invalid"  # content changed or signature broken
    timestamp_valid = "timestamp_valid"  # a document timestamp (B-LTA) that holds
    timestamp_invalid = "timestamp_invalid"
    unchecked = "unchecked"  # the file could not be checked at all (damaged, encrypted)

    @property
    def holds(self) -> bool:
        """Intact, valid and trusted: a test certificate's signature holds too (it is flagged, not invalid)."""
        return self in (Verdict.valid, Verdict.valid_test_certificate, Verdict.timestamp_valid)

    @property
    def vi(self) -> str:
        """The Vietnamese every report shows (`summary_vi`); the pages' catalogue (en.json) agrees with `en`."""
        match self:
            case Verdict.invalid:
                return "Chữ ký KHÔNG hợp lệ: nội dung đã bị thay đổi hoặc chữ ký hỏng"
            case Verdict.modified:
                return "Chữ ký đúng nhưng tài liệu đã bị sửa sau khi ký"
            case Verdict.revoked:
                return "Chữ ký đúng nhưng chứng thư số đã bị thu hồi"
            case Verdict.untrusted:
                return "Chữ ký đúng nhưng chứng thư số không dẫn tới gốc tin cậy"
            case Verdict.valid_test_certificate:
                return "Chữ ký hợp lệ với chứng thư THỬ NGHIỆM (không có giá trị pháp lý)"
            case Verdict.valid:
                return "Chữ ký hợp lệ"
            case Verdict.timestamp_valid:
                return "Dấu thời gian tài liệu hợp lệ"
            case Verdict.timestamp_invalid:
                return "Dấu thời gian không hợp lệ"
            case Verdict.unchecked:
                return "Không kiểm tra được"

    @property
    def en(self) -> str:
        return _EN[self]


_EN = {
    Verdict.invalid: "Signature NOT valid: the content was changed or the signature is broken",
    Verdict.modified: "The signature is intact but the document was modified after signing",
    Verdict.revoked: "The signature is intact but the certificate has been revoked",
    Verdict.untrusted: "The signature is intact but the certificate does not chain to a trusted root",
    Verdict.valid_test_certificate: "Valid signature with a TEST certificate (no legal value)",
    Verdict.valid: "Valid signature",
    Verdict.timestamp_valid: "Valid document timestamp",
    Verdict.timestamp_invalid: "Invalid document timestamp",
    Verdict.unchecked: "Could not be checked",
}


def _verdict(report: dict[str, Any]) -> Verdict:
    if not report["intact"] or not report["valid"]:
        return Verdict.invalid
    if report["modified_after_signing"]:
        return Verdict.modified
    if report["revocation"] == "revoked":
        return Verdict.revoked
    if not report["trusted"]:
        return Verdict.untrusted
    if report.get("test_certificate"):
        return Verdict.valid_test_certificate
    return Verdict.valid


def _conclude(report: dict[str, Any], verdict: Verdict) -> None:
    report["verdict"] = verdict
    report["summary_vi"] = verdict.vi


def _base(status: Any, kind: str) -> dict[str, Any]:
    ts = status.timestamp_validity
    report: dict[str, Any] = {
        "kind": kind,
        "intact": bool(status.intact),
        "valid": bool(status.valid),
        "trusted": bool(status.trusted),
        "signer": keys.describe(status.signing_cert),
        "signing_time": _iso(status.signer_reported_dt),
        "timestamp_time": _iso(ts.timestamp) if ts is not None else None,
        "timestamp_valid": bool(ts.intact and ts.valid and ts.trusted) if ts is not None else None,
        "timestamp_intact": bool(ts.intact and ts.valid) if ts is not None else None,
        "timestamp_signer": keys.describe(ts.signing_cert) if ts is not None and ts.signing_cert else None,
        "revocation": _revocation(status),
        "test_certificate": demo_cert.is_demo(status.signing_cert),
    }
    report["revocation_vi"] = REVOCATION_VI[report["revocation"]]
    return report


def _changes(status: Any) -> str:
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "none"
    level = status.modification_level
    return {
        ModificationLevel.NONE: "none",
        ModificationLevel.LTA_UPDATES: "lta_updates",
        ModificationLevel.FORM_FILLING: "form_filling",
        ModificationLevel.ANNOTATIONS: "annotations",
        ModificationLevel.OTHER: "other",
    }.get(level, "unknown")


def _pades_level(reader: PdfFileReader, status: Any, position: int, doc_ts_positions: list[int]) -> str:
    if status.timestamp_validity is None:
        return "B-B"
    dss = reader.root.get("/DSS")
    dss = dss.get_object() if dss is not None else None
    has_revinfo = dss is not None and ("/OCSPs" in dss or "/CRLs" in dss)
    if not has_revinfo:
        return "B-T"
    return "B-LTA" if any(p > position for p in doc_ts_positions) else "B-LT"


async def _validate_pdf(settings: SigningSettings, data: BinaryIO, online: bool) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        return await _validate_pdf_in(settings, data, online, AIOHttpFetcherBackend(http))


async def _validate_pdf_in(
    settings: SigningSettings, data: BinaryIO, online: bool, fetchers: Any
) -> list[dict[str, Any]]:
    try:
        reader = PdfFileReader(data, strict=False)
        if reader.encrypted:
            raise InvalidInput(
                "Tệp PDF được mã hóa; không kiểm tra được.", "The PDF is encrypted; it cannot be checked."
            )
        sigs = reader.embedded_signatures
    except PdfError as e:
        raise InvalidInput("Tệp PDF bị hỏng, không đọc được.", f"The PDF is damaged: {e}") from None
    vc_kwargs = {
        "allow_fetching": online,
        "revocation_mode": "soft-fail",
        "fetcher_backend": fetchers,
        "roots": trust.load_roots(settings),
    }
    doc_ts = [i for i, s in enumerate(sigs) if s.sig_object_type == "/DocTimeStamp"]
    reports = []
    for position, sig in enumerate(sigs):
        if position in doc_ts:
            ts_status = await async_validate_pdf_timestamp(
                sig, validation_context=trust.validation_context(settings, **vc_kwargs)
            )
            reports.append(
                {
                    "kind": "document_timestamp",
                    "field": sig.field_name,
                    "intact": bool(ts_status.intact),
                    "valid": bool(ts_status.valid),
                    "trusted": bool(ts_status.trusted),
                    "timestamp_time": _iso(ts_status.timestamp),
                    "signer": keys.describe(ts_status.signing_cert),
                }
            )
            holds = ts_status.intact and ts_status.valid and ts_status.trusted
            _conclude(reports[-1], Verdict.timestamp_valid if holds else Verdict.timestamp_invalid)
            continue
        vc = trust.validation_context(settings, **vc_kwargs)
        status = await async_validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc)
        report = _base(status, "pades")
        changes = _changes(status)
        report.update(
            field=sig.field_name,
            subfilter=str(sig.sig_object.get("/SubFilter", "")),
            level=_pades_level(reader, status, position, doc_ts),
            coverage=status.coverage.name.lower() if status.coverage else None,
            changes_after_signing=changes,
            changes_vi=CHANGES_VI[changes],
            modified_after_signing=changes in ("annotations", "other", "unknown"),
        )
        _conclude(report, _verdict(report))
        reports.append(report)
    return reports


async def _validate_detached(
    settings: SigningSettings, content: BinaryIO, p7s: bytes, online: bool
) -> list[dict[str, Any]]:
    try:
        signed_data = cms.ContentInfo.load(p7s)["content"]
        _ = signed_data.native  # parse now: a damaged file is bad input, not a crash later
    except (ValueError, TypeError) as e:
        raise InvalidInput("Tệp chữ ký .p7s bị hỏng.", f"The .p7s signature file is damaged: {e}") from None
    async with aiohttp.ClientSession() as http:
        vc = trust.validation_context(
            settings, allow_fetching=online, revocation_mode="soft-fail", fetcher_backend=AIOHttpFetcherBackend(http)
        )
        status = await async_validate_detached_cms(  # 1 MiB reads: pyHanko's 4 KiB ones hashed 53 MiB/s here
            content, signed_data, signer_validation_context=vc, ts_validation_context=vc, chunk_size=1024 * 1024
        )
        report = _base(status, "cades_detached")
    report.update(
        level="CAdES-B-T" if status.timestamp_validity else "CAdES-B-B", modified_after_signing=not status.intact
    )
    report["changes_vi"] = CHANGES_VI["none" if status.intact else "other"]
    _conclude(report, _verdict(report))
    return [report]


def validate_pdf(settings: SigningSettings, data: BinaryIO | bytes, online: bool = True) -> list[dict[str, Any]]:
    """Check every signature of a PDF; pass an open file so a large PDF is read as needed, not loaded."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    return asyncio.run(_validate_pdf(settings, stream, online))


def validate_detached(
    settings: SigningSettings, content: BinaryIO, p7s: bytes, online: bool = True
) -> list[dict[str, Any]]:
    return asyncio.run(_validate_detached(settings, content, p7s, online))


def holds(report: dict[str, Any]) -> bool:
    """Does this report's signature hold (its verdict; a report without one was never checked)?"""
    return Verdict(report.get("verdict", Verdict.unchecked)).holds


def all_ok(reports: list[dict[str, Any]]) -> bool:
    """Every signature valid (a demo certificate's too: it is flagged `test_certificate`, not invalid)."""
    return bool(reports) and all(holds(r) for r in reports)
