"""Batch signing: one authorization signs every approved item of a batch, then the approval record.

The run takes a lease on the batch (a conditional UPDATE: of two requests, one wins). Each item is
signed in memory, its signed file stored under its content address, and then one transaction adds
the signed version, the signature row and marks the item signed — checking that the lease is still
ours. A run that dies leaves each item either signed once or untouched; the next run (after the
lease lapses) does the rest. The key lives only in this process, so a resumed run needs the
principal's authorization again; nothing secret is ever written down.

The steps, one module each: `checks` (every refusal, then the lease), `run` (signing, with the
public `SigningRun` base that the client-side run in signing/remote.py extends through its
hooks), `persist` (what is stored, under which right) and `approval` (the approval record).
"""

from signing.batch.checks import begin, check_ready, signatures_needed
from signing.batch.persist import P7S, Progress, Report, SigningStore
from signing.batch.run import IN_MEMORY_LIMIT, PDF, SigningRun, run, sign_batch

__all__ = [
    "IN_MEMORY_LIMIT",
    "P7S",
    "PDF",
    "Progress",
    "Report",
    "SigningRun",
    "SigningStore",
    "begin",
    "check_ready",
    "run",
    "sign_batch",
    "signatures_needed",
]
