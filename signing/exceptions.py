"""Signing errors a principal may see; `api/errors.py` maps them to HTTP statuses."""

from __future__ import annotations

from archive.exceptions import Conflict, FontMissing, HosoError, InvalidInput  # noqa: F401  (FontMissing: re-exported)


class ItemError(InvalidInput):
    """This one file cannot be signed (damaged, encrypted, locked); the rest of the batch goes on."""

    code = "item_not_signable"


class ServiceUnavailable(HosoError):
    """A service the signature level needs (TSA, OCSP, CRL) did not answer: pause, never half-sign."""

    code = "signing_service_unavailable"


class CertificateRefused(Conflict):
    """The signer's certificate may not sign now (expired, revoked, wrong usage, untrusted)."""

    code = "certificate_refused"


class LeaseLost(Conflict):
    """Another run took the batch over (ours was silent longer than the lease)."""

    code = "signing_lease_lost"
