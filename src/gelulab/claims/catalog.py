"""Every statement of the explainer as a claim, and its verdict computed in the run.

A claim (DESIGN.md, "Claims") is data: the sentence quoted verbatim from the explainer, the
activations it is about, the kind of evidence that settles it (property, measurement, training,
census: what the real model definitions of transformers and timm use, literature: published
results with their sources, or not testable: an interpretation), and the
function that computes the evidence. ``check_claims`` runs every evidence function and
returns the verdicts (holds, fails, holds in part, cannot be settled here) with their numbers.

Quotes are given as a fragment and expanded to the explainer's full line by
``explainer.quote``, which fails if the text is not in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..analysis.explainer import properties_table, quote, repair_encoding, table_with
from . import verdicts as ev
from .verdicts import Evidence, EvidenceContext, EvidenceFunction

KINDS = ("property", "measurement", "census", "training", "literature", "not testable")


@dataclass(frozen=True)
class Claim:
    key: str
    quote: str  # a full line of the explainer, verbatim
    where: str  # the explainer's heading above it
    activations: tuple[str, ...]
    kind: str
    evidence: EvidenceFunction

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.key}: kind must be one of {KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    evidence: Evidence

    @property
    def verdict(self) -> str:
        return self.evidence.verdict

    def as_dict(self) -> dict[str, Any]:
        c, e = self.claim, self.evidence
        return {
            "key": c.key,
            "quote": repair_encoding(c.quote),
            "quote_original": c.quote,  # as the explainer's bytes read, for matching
            "where": c.where,
            "activations": list(c.activations),
            "kind": c.kind,
            "evidence_function": getattr(c.evidence, "__name__", str(c.evidence)),
            "verdict": e.verdict,
            "summary": e.summary,
            "numbers": e.numbers,
            "command": e.command,
            "figure": e.figure,
        }


_WHAT = "What is GELU?"
_DO = "What does it actually *do*?"
_APPROX = "Quick Approximation"
_VISUAL = "Visual Comparison: GELU vs ReLU"
_WHY = "Why is GELU used in Transformers and LLMs?"
_INTUITIVE = "Intuitive Way to Think"
_PROPS = "Quick Mathematical Properties"
_WHEN = "When should you prefer GELU or ReLU?"
_SUMMARY = "Summary"
_GR = ("gelu", "relu")


def _row(heading_word: str, first_cell: str) -> str:
    return table_with(heading_word).line(first_cell)


def claims() -> list[Claim]:
    """The explainer's claims, in the order the explainer makes them."""
    tr = ev.training
    props_rows = [r[0] for r in properties_table().rows]
    items: list[Claim] = [
        Claim("designed_small_negatives", quote("designed to let **small negative inputs survive**"), _WHAT,
              ("gelu",), "property", ev.small_negatives_survive),
        Claim("formula_gelu", quote(r"\text{GELU}(x) = x \cdot \Phi(x)"), _WHAT, ("gelu",), "property",
              ev.formula_gelu),
        Claim("formula_expanded", quote(r"\text{GELU}(x) = x \times \frac{1}{2}"), _WHAT, ("gelu",), "property",
              ev.formula_gelu),
        Claim("small_negatives", quote("For **small negative values**"), _DO, ("gelu",), "property",
              ev.small_negatives_survive),
        Claim("large_positive_identity", quote("For **large positive values**"), _DO, ("gelu",), "property",
              ev.large_positive_identity),
        Claim("very_negative_zero", quote("For **very negative values**"), _DO, ("gelu",), "property",
              ev.very_negative_to_zero),
        Claim("smooth_transitions", quote("*Smooth and gradual transitions*"), _DO, _GR, "property",
              ev.smooth_vs_cutoff),
        Claim("tanh_faster", quote("Faster"), _APPROX, ("gelu", "gelu_tanh"), "measurement", ev.tanh_faster),
        Claim("tanh_close", quote("Still pretty close to the true behavior"), _APPROX, ("gelu", "gelu_tanh"),
              "property", ev.tanh_close),
        Claim("frameworks_tanh", quote("This is what is used in frameworks like"), _APPROX, ("gelu_tanh",),
              "measurement", ev.frameworks_use_tanh),
        Claim("table_formula", _row("Visual", "Formula"), _VISUAL, _GR, "property", ev.smooth_vs_cutoff),
        Claim("table_negative_inputs", _row("Visual", "Behavior for x<0"), _VISUAL, _GR, "property",
              ev.negative_branch),
        Claim("table_positive_inputs", _row("Visual", "Behavior for x>0"), _VISUAL, _GR, "property",
              ev.positive_branch),
        Claim("table_derivative", _row("Visual", "Derivative"), _VISUAL, _GR, "property",
              ev.derivative_smooth_vs_jump),
        Claim("table_popularity", _row("Visual", "Popularity"), _VISUAL, _GR, "census", ev.census("popularity")),
        Claim("cost_higher", _row("Visual", "Computation cost"), _VISUAL, _GR, "measurement",
              ev.cost_slightly_higher),
        Claim("fine_grained_patterns", quote("**Smooth activation**"), _WHY, ("gelu",), "training",
              tr("gelu_better_language")),
        Claim("gradient_flow", quote("**Retaining small negative information**"), _WHY, _GR, "training",
              tr("gelu_gradient_flow", with_gradient_numbers=True)),
        Claim("reported_pretraining", quote("**Better performance** reported"), _WHY, _GR, "literature",
              ev.reported_pretraining),
        Claim("over_prune", quote("**over-prune**"), _WHY, ("relu",), "training",
              tr("gelu_gradient_flow", with_gradient_numbers=True)),
        Claim("relu_die_go", quote("**ReLU** is like:"), _INTUITIVE, ("relu",), "property", ev.negative_branch),
        Claim("gelu_shrink_not_kill", quote("**GELU** is like:"), _INTUITIVE, ("gelu",), "property",
              ev.small_negatives_survive),
        Claim("softness_uncertainty", quote("introduces **softness and uncertainty**"), _INTUITIVE, ("gelu",),
              "not testable", ev.not_testable("an interpretation (randomness 'inherent in natural data'), "
                                              "not a statement a computation or a training run can decide")),
    ]
    for row in props_rows:
        key = "property_" + row.lower().replace(" ", "_")
        items.append(Claim(key, _row("Mathematical Properties", row), _PROPS, _GR, "property",
                           ev.properties_table_row(row)))
    advice = {
        "Deep vision networks, faster inference": ("advice_vision", ("relu",), "relu_better_vision"),
        "Language models, Transformers, fine-grained tasks": ("advice_language", ("gelu",), "gelu_better_language"),
        "Small models (mobile)": ("advice_small_models", ("relu",), "relu_small_models"),
    }
    for situation, (key, acts, tkey) in advice.items():
        if key == "advice_vision":  # "faster inference" is a measurement on real networks
            items.append(Claim(key, _row("prefer", situation), _WHEN, acts, "measurement",
                               ev.with_inference("relu_faster_inference", tkey)))
            continue
        if key == "advice_small_models":  # mobile: int8 latency and accuracy of the trained models
            items.append(Claim(key, _row("prefer", situation), _WHEN, acts, "measurement", ev.with_int8(tkey)))
            continue
        items.append(Claim(key, _row("prefer", situation), _WHEN, acts, "training", tr(tkey)))
    items.append(Claim("advice_large_pretrained", _row("prefer", "Large, pre-trained architectures (BERT, GPT)"), _WHEN,
                       ("gelu",), "literature", ev.large_pretrained_gelu))
    items += [
        Claim("summary_gelu_llm", quote("**GELU** = Smooth, probabilistic"), _SUMMARY, ("gelu",), "training",
              tr("gelu_better_language")),
        Claim("summary_relu_vision", quote("**ReLU** = Simple, sharp"), _SUMMARY, ("relu",), "census",
              ev.census("relu_for_vision", "relu_better_vision")),
        Claim("summary_gelu_text", quote("GELU helps Transformers perform better on text"), _SUMMARY, ("gelu",),
              "training", tr("gelu_better_language")),
        Claim("summary_silu_replacing", quote("Swish, SiLU are now replacing ReLU"), _SUMMARY, ("silu", "relu"),
              "census", ev.census("relu_king_of_large_vision", "silu_replacing_relu")),
    ]
    return items


#: the training comparison (:data:`.training.COMPARISONS`) and the statement it answers
TRAINING_STATEMENTS = {
    "gelu_better_language": "advice_language",
    "relu_better_vision": "advice_vision",
    "relu_small_models": "advice_small_models",
    "silu_replacing_relu": "summary_silu_replacing",
    "gelu_gradient_flow": "gradient_flow",
}


def statement_text(claim: Claim) -> str:
    """The claim's line as a reader should see it: encoding repaired, list marks and table pipes gone
    (a table row reads "situation → choice")."""
    text = repair_encoding(claim.quote).strip()
    if text.startswith("|"):
        cells = [c.strip() for c in text.strip("|").split("|")]
        return " → ".join(c for c in cells if c)
    return text.lstrip("-* ").replace("**", "")


def training_statements() -> dict[str, str]:
    """Per training comparison, the text of the explainer's statement it answers (from the catalog)."""
    by_key = {c.key: c for c in claims()}
    return {k: statement_text(by_key[v]) for k, v in TRAINING_STATEMENTS.items()}


def claim_keys() -> list[str]:
    return [c.key for c in claims()]


def check_claims(quick: bool = False, keys: list[str] | None = None, progress: bool = False,
                 store_path: Any = None) -> list[ClaimResult]:
    """Run the evidence function of every claim (or of ``keys``) and return the verdicts; training
    verdicts come from the runs stored at ``store_path`` (default: ``$GELULAB_STORE`` or
    ``results/gelulab.sqlite``)."""
    chosen = claims()
    if keys:
        known = {c.key for c in chosen}
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise KeyError(f"unknown claim {unknown[0]!r}; known: {', '.join(sorted(known))}")
        chosen = [c for c in chosen if c.key in keys]
    ctx = EvidenceContext(quick=quick, store_path=store_path)
    if not progress:
        return [ClaimResult(c, c.evidence(ctx)) for c in chosen]
    from rich.progress import Progress

    out = []
    with Progress(transient=True) as bar:
        task = bar.add_task("claims", total=len(chosen))
        for c in chosen:
            bar.update(task, description=f"claims: {c.key}")
            out.append(ClaimResult(c, c.evidence(ctx)))
            bar.advance(task)
    return out
