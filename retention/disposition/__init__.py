"""Destruction of records whose term has ended, by the procedure of TT 06/2025/TT-BNV.

1. The archivist proposes a list of records in review ("Xem xét hủy"), each with an explanation;
   hoso writes the list (Danh mục tài liệu đề nghị hủy) into a new destruction dossier (`propose`).
2. The council (Hội đồng xét hủy) records its members, the decision establishing it, its minutes
   and its opinion; hoso writes the minutes (Biên bản họp Hội đồng) (`council`).
3. The head of the unit (the principal) decides; hoso writes the decision (Quyết định hủy), signed
   with the principal's key when one is given, otherwise recorded and flagged as unsigned (`decide`).
4. Within 15 days of the decision, execution deletes each record's blobs (the store refuses if any
   is still locked), keeps a tombstone per record (metadata and every hash), and writes the biên
   bản hủy. A decision older than 15 days has lapsed: it must be decided again (`execute`).

The destruction dossier is permanent; every step is an audit event, and every step's document is
rendered, stored and recorded the same way (`document.filed`). A record under a legal hold can
neither enter a proposal nor be destroyed.
"""

from __future__ import annotations

from retention.disposition.common import EXECUTION_DAYS, PROPOSERS, SignPdf, execute_before, items_of, load
from retention.disposition.council import council
from retention.disposition.decide import decide
from retention.disposition.execute import execute
from retention.disposition.propose import propose

__all__ = [
    "EXECUTION_DAYS",
    "PROPOSERS",
    "SignPdf",
    "council",
    "decide",
    "execute",
    "execute_before",
    "items_of",
    "load",
    "propose",
]
