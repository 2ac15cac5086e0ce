"""The explainer's statements: one catalog, one ``Claim`` type, each verdict computed once.

    from gelulab.claims import check_claims
    for r in check_claims(quick=True):
        print(r.claim.key, r.verdict, r.evidence.summary)

``catalog`` holds the statements (quoted from the explainer, with the kind of evidence and the
function that settles each); ``verdicts`` the evidence functions, drawing on the layers below
(computed properties in ``analysis``, timings in ``bench`` and ``analysis.speed``, the census of
model definitions, the training store through ``training``); ``literature`` the published results,
shown apart from what gelulab computes. The report's sections place these results and retype
nothing.
"""

from __future__ import annotations

from .catalog import (
    KINDS,
    TRAINING_STATEMENTS,
    Claim,
    ClaimResult,
    check_claims,
    claim_keys,
    claims,
    statement_text,
    training_statements,
)
from .verdicts import VERDICTS, Evidence, EvidenceContext

__all__ = ["KINDS", "TRAINING_STATEMENTS", "VERDICTS", "Claim", "ClaimResult", "Evidence", "EvidenceContext",
           "check_claims", "claim_keys", "claims", "statement_text", "training_statements"]
