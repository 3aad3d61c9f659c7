"""The one signature-level policy: which PAdES/CAdES level each signature hoso makes gets.

An approval batch (server-side key, the principal's PC, or remote signing) takes the level its
request names, else the configured one (`HOSO_SIGNATURE_LEVEL`), else B-LT when a time-stamping
service is set (a timestamp and the revocation data embedded, so the signature can still be
checked after the certificate expires), else B-B. A destruction decision takes B-T when a TSA is
set, else B-B, whatever is configured: that is the level it has always had, kept as it was when
the two policies became this one function (issue #14 moved code without changing behaviour). The
sealed dossier papers (the approved yearly list, the handover list) take the decision's rule.
"""

from __future__ import annotations

import enum

from signing.settings import SigningSettings


class Purpose(enum.StrEnum):
    approval = "approval"  # the items of a batch and its approval record
    destruction_decision = "destruction_decision"  # the principal's signed decision (retention)
    dossier_paper = "dossier_paper"  # the approved yearly list and the handover list, sealed (retention)
    copy_authentication = "copy_authentication"  # an authenticated copy, sealed by the school (retention.copies)


def level_for(settings: SigningSettings, purpose: Purpose, requested: str | None = None) -> str:
    """The level of a signature made for `purpose`; `requested` is what an approval request asked for."""
    if purpose in (Purpose.destruction_decision, Purpose.dossier_paper, Purpose.copy_authentication):
        return "B-T" if settings.tsa_url else "B-B"
    return requested or settings.signature_level or ("B-LT" if settings.tsa_url else "B-B")
