"""The evidence functions behind the explainer's claims.

Each function takes an ``EvidenceContext`` and returns an ``Evidence``: a verdict, a one-line
summary with the numbers, the numbers themselves, the command that shows them and the figure
that illustrates them. Verdicts are decided here from computed properties (``properties``),
a timing made in the run (``speed``) or the training experiments (:mod:`.training`),
never typed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from scipy import optimize, special

from ..analysis.approximation import gap_to
from ..analysis.formula import X, as_float, expression, limit_at_infinity, side_branch
from ..analysis.properties import properties
from ..functions import get

HOLDS = "holds"
FAILS = "fails"
IN_PART = "holds in part"
UNSETTLED = "cannot be settled here"
VERDICTS = (HOLDS, FAILS, IN_PART, UNSETTLED)

NOT_YET_TRAINED = "not yet settled: needs training runs (gelulab sweep)"


@dataclass
class EvidenceContext:
    """What evidence functions share in one run: the size of the timing and its cached result, the
    census, the whole-network latencies, and the training store the verdicts read (None: the default)."""

    quick: bool = False
    store_path: Any = None
    _speed: Any = field(default=None, repr=False)
    _census: Any = field(default=None, repr=False)
    _inference: Any = field(default=None, repr=False)
    _int8: Any = field(default=None, repr=False)

    def int8(self):
        """(int8 result, source): post-training int8 of the trained models, taken once per run."""
        if self._int8 is None:
            from ..experiments.int8 import load_or_measure

            self._int8 = load_or_measure(self.quick)
        return self._int8

    def inference(self):
        """Whole-network latencies (:func:`gelulab.bench.models.load_or_measure`), taken once per run."""
        if self._inference is None:
            from ..bench.models import load_or_measure

            self._inference = load_or_measure(self.quick)
        return self._inference

    def census(self):
        """The census of model definitions (:func:`gelulab.census.store.for_report`), taken once per run."""
        if self._census is None:
            from ..census.store import for_report

            self._census = for_report(self.quick)
        return self._census

    def speed(self):
        if self._speed is None:
            from ..analysis.speed import measure_speed

            self._speed = measure_speed(self.quick)
        return self._speed


@dataclass(frozen=True)
class Evidence:
    verdict: str
    summary: str
    numbers: dict[str, Any]
    command: str
    figure: str | None = None  # "functions", "minimum", "approximation" or "speed"

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


EvidenceFunction = Callable[[EvidenceContext], Evidence]


def combine(parts: dict[str, bool]) -> str:
    """Verdict of a claim made of parts (one per activation or per statement).

    All parts hold: holds. A row of two (GELU | ReLU) with a wrong cell is a wrong row: fails.
    With more parts, some right and some wrong: holds in part.
    """
    if all(parts.values()):
        return HOLDS
    return FAILS if not any(parts.values()) or len(parts) <= 2 else IN_PART


# --- formulas and shape ------------------------------------------------------------------------

def formula_gelu(ctx: EvidenceContext) -> Evidence:
    """x*Phi(x) with Phi the standard normal CDF equals x/2*(1 + erf(x/sqrt2)) and the registry's gelu."""
    from sympy.stats import Normal, cdf

    phi = cdf(Normal("Z", 0, 1))(X)
    expanded = X / 2 * (1 + sp.erf(X / sp.sqrt(2)))
    same_expanded = sp.simplify((X * phi - expanded).rewrite(sp.erf)) == 0
    same_registry = sp.simplify((get("gelu").symbolic(X) - expanded).rewrite(sp.erf)) == 0
    pts = [-3.0, -0.75, 0.5, 2.0]
    worst = max(abs(float(get("gelu")(p)) - float(sp.N(expanded.subs(X, p), 30))) for p in pts)
    return Evidence(
        HOLDS if same_expanded and same_registry else FAILS,
        f"sympy: x*Phi(x) - x/2*(1 + erf(x/sqrt2)) simplifies to 0: {same_expanded}; registry's gelu is the same "
        f"function: {same_registry}; float64 kernel vs formula at {pts}: max |diff| {worst:.1e}",
        {"cdf_form_equal": same_expanded, "registry_equal": same_registry, "kernel_max_abs_diff": worst},
        "gelulab claims formula_gelu; gelulab eval gelu -0.75",
        "functions",
    )


def small_negatives_survive(ctx: EvidenceContext) -> Evidence:
    """On [-1, 0) GELU is negative (not killed) and |GELU(x)| < |x| (pushed towards zero)."""
    x = np.linspace(-1.0, 0.0, 4001)[:-1]
    y = get("gelu")(x)
    ratio = y / x  # = Phi(x) in (0, 1/2)
    alive = bool(np.all(y < 0))
    shrunk = bool(np.all(ratio < 1))
    p = properties("gelu")
    return Evidence(
        HOLDS if alive and shrunk else FAILS,
        f"on [-1, 0): GELU(x) < 0 at all {x.size} grid points (not killed), GELU(x)/x in "
        f"[{ratio.min():.4f}, {ratio.max():.4f}] (shrunk); GELU(-0.5) = {float(get('gelu')(-0.5)):.6f}; "
        f"lowest value {p.monotonicity.infimum.value:.6f}",
        {"all_negative": alive, "ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
         "gelu(-0.5)": float(get("gelu")(-0.5))},
        "gelulab properties gelu; gelulab eval gelu -0.5",
        "functions",
    )


def large_positive_identity(ctx: EvidenceContext) -> Evidence:
    lim_d = as_float(limit_at_infinity("gelu", 1, 1))
    lim_gap = sp.limit(expression("gelu") - X, X, sp.oo)
    gaps = {v: float(v - get("gelu")(v)) for v in (3.0, 5.0)}
    ok = lim_d == 1.0 and lim_gap == 0
    return Evidence(
        HOLDS if ok else FAILS,
        f"lim GELU'(x) = {lim_d:g} and lim (GELU(x) - x) = {lim_gap} as x -> +inf (sympy); "
        f"x - GELU(x) = {gaps[3.0]:.2e} at x = 3, {gaps[5.0]:.2e} at x = 5",
        {"limit_derivative": lim_d, "limit_gap": float(lim_gap), "gap_at_3": gaps[3.0], "gap_at_5": gaps[5.0]},
        "gelulab properties gelu",
        "functions",
    )


def very_negative_to_zero(ctx: EvidenceContext) -> Evidence:
    lim = as_float(limit_at_infinity("gelu", 0, -1))
    v5 = float(get("gelu")(-5.0))
    return Evidence(
        HOLDS if lim == 0 else FAILS,
        f"lim GELU(x) = {lim:g} as x -> -inf (sympy); GELU(-5) = {v5:.3e}",
        {"limit": lim, "gelu(-5)": v5},
        "gelulab properties gelu; gelulab eval gelu -5",
        "functions",
    )


def smooth_vs_cutoff(ctx: EvidenceContext) -> Evidence:
    g, r = properties("gelu").continuity, properties("relu").continuity
    jump = r.jumps[0] if r.jumps else None
    parts = {"gelu smooth": g.function_class == "C-infinity", "relu sharp": r.smoothness <= 0}
    where = f"ReLU' jumps from {jump.left:g} to {jump.right:g} at x = {jump.at:g}" if jump else "ReLU' has no jump"
    return Evidence(
        combine(parts),
        f"GELU is {g.function_class} (no breakpoint in its formula); ReLU is {r.function_class}: {where} "
        f"(numerically: f' changes by {r.numeric.fine[1]:.3g} between neighbours 1/2048 apart)",
        {"gelu_class": g.function_class, "relu_class": r.function_class, **parts},
        "gelulab properties gelu relu; gelulab plot gelu relu --derivative",
        "functions",
    )


def derivative_smooth_vs_jump(ctx: EvidenceContext) -> Evidence:
    g, r = properties("gelu").continuity, properties("relu").continuity
    jump = r.jumps[0] if r.jumps else None
    parts = {"gelu' continuous": g.derivative_class == "C-infinity",
             "relu' discontinuous at 0": bool(jump and jump.order == 1 and jump.at == 0.0)}
    return Evidence(
        combine(parts),
        f"GELU' is {g.derivative_class}; ReLU' is {r.derivative_class}"
        + (f" with one-sided limits {jump.left:g} and {jump.right:g} at x = {jump.at:g}" if jump else ""),
        {"gelu_derivative_class": g.derivative_class, "relu_derivative_class": r.derivative_class, **parts},
        "gelulab properties gelu relu; gelulab plot gelu relu --derivative",
        "functions",
    )


def negative_branch(ctx: EvidenceContext) -> Evidence:
    g, r = properties("gelu"), properties("relu")
    flat = r.monotonicity.flat
    relu_zero = any(iv.lo == -math.inf and iv.hi >= 0 for iv in flat)
    parts = {"gelu negative for x<0": g.negative_outputs, "relu zero for x<0": relu_zero}
    return Evidence(
        combine(parts),
        f"GELU: infimum {g.monotonicity.infimum.value:.6f} (small: |GELU(x)| <= "
        f"{-g.monotonicity.infimum.value:.4f} for all x < 0); ReLU: constant 0 on x <= 0, "
        f"P(ReLU(Z) = 0) = {r.moments.prob_zero:g}",
        {**parts, "gelu_infimum": g.monotonicity.infimum.value, "relu_prob_zero": r.moments.prob_zero},
        "gelulab properties gelu relu",
        "minimum",
    )


def _distance_to_identity_below(level: float) -> float:
    """The x > 0 beyond which x - GELU(x) = x*Phi(-x) stays below ``level``."""
    return float(optimize.brentq(lambda t: t * special.ndtr(-t) - level, 0.7517915246935645, 40.0))


def positive_branch(ctx: EvidenceContext) -> Evidence:
    gap = gap_to("relu")  # relu - gelu is even in x: at x > 0 it is x - GELU(x)
    x01 = _distance_to_identity_below(0.01)
    relu_linear = sp.simplify(side_branch("relu", 0, sp.oo, "-") - X) == 0  # the branch for x > 0 is x
    gelu_curved = float(get("gelu").evaluate(1.0, 2)) != 0.0
    parts = {"relu fully linear": bool(relu_linear), "gelu linear": not gelu_curved}
    return Evidence(
        IN_PART if relu_linear and gelu_curved else combine(parts),
        f"ReLU(x) = x exactly for x > 0; GELU is not linear there: x - GELU(x) peaks at {abs(gap.max_abs):.4f} "
        f"(x = {abs(gap.at):.4f}), GELU''(1) = {float(get('gelu').evaluate(1.0, 2)):.4f}, and it stays within 0.01 "
        f"of x only for x > {x01:.3f} (smooth, asymptotically linear)",
        {"relu_linear": bool(relu_linear), "gelu_max_distance_to_identity": abs(gap.max_abs),
         "at": abs(gap.at), "within_0.01_beyond": x01},
        "gelulab properties gelu relu",
        "functions",
    )


# --- the "Quick Mathematical Properties" table ------------------------------------------------------

def _yes(cell: str) -> bool:
    return cell.strip().lower().startswith("yes")


_COMPUTED: dict[str, Callable[[str], tuple[bool, str]]] = {
    "Nonlinear": lambda n: (properties(n).nonlinearity.nonlinear,
                            f"midpoint defect {properties(n).nonlinearity.max_midpoint_defect:.3g}"),
    "Differentiable everywhere": lambda n: (
        properties(n).continuity.differentiable_everywhere,
        f"{properties(n).continuity.function_class}"
        + "".join(f", f' jumps {j.left:g} -> {j.right:g} at {j.at:g}" for j in properties(n).continuity.jumps
                  if j.order == 1)),
    "Monotonic": lambda n: (properties(n).monotonicity.monotonic, _monotonic_text(n)),
    "Outputs negative values": lambda n: (properties(n).negative_outputs,
                                          f"infimum {properties(n).monotonicity.infimum.value:.6g}"),
}


def _monotonic_text(name: str) -> str:
    m = properties(name).monotonicity
    if m.monotonic:
        return m.direction + ("" if m.strictly else f", flat on {', '.join(iv.text() for iv in m.flat)}")
    gm = m.global_minimum
    dec = ", ".join(iv.text() for iv in m.decreasing)
    return f"decreasing on {dec}" + (f", minimum {gm.value:.6f} at x = {gm.x:.6f}" if gm else "")


def computed_property(row: str, name: str) -> tuple[bool, str]:
    """(answer, explanation) for one row of the explainer's properties table, computed."""
    return _COMPUTED[row](name)


def properties_table_row(row: str) -> EvidenceFunction:
    """Evidence for one row of "Quick Mathematical Properties": each column's Yes/No vs computed."""

    def evidence(ctx: EvidenceContext) -> Evidence:
        from ..analysis.explainer import properties_table

        table = properties_table()
        cells = table.row(row)
        parts, texts, numbers = {}, [], {}
        for col, cell in zip(table.header[1:], cells[1:], strict=True):
            name = get(col.lower()).name
            computed, why = computed_property(row, name)
            parts[name] = _yes(cell) == computed
            texts.append(f"{col}: says {cell!r}, computed {'yes' if computed else 'no'} ({why})")
            numbers[name] = {"claimed": cell, "computed": computed, "detail": why}
        return Evidence(combine(parts), "; ".join(texts), numbers,
                        f"gelulab properties {' '.join(numbers)}",
                        "minimum" if row == "Monotonic" else "functions")

    evidence.__name__ = f"properties_table_row[{row}]"
    return evidence


# --- measurements ---------------------------------------------------------------------------------

def tanh_close(ctx: EvidenceContext) -> Evidence:
    g = gap_to("gelu_tanh")
    q = gap_to("quick_gelu")
    r = gap_to("relu")
    # float16 spacing at the point of the largest gap: "close" means below half of it. The gap is
    # even in x, so of a symmetric pair the larger |gelu| (positive x) sets the scale.
    at = abs(g.at) if g.symmetric else g.at
    half_ulp16 = 0.5 * float(np.spacing(np.float16(abs(float(get("gelu")(at))))))
    ok = g.max_abs < half_ulp16
    return Evidence(
        HOLDS if ok else IN_PART,
        f"max |gelu_tanh - gelu| = {g.max_abs:.3e} at x = {'±' if g.symmetric else ''}{abs(g.at):.4f} "
        f"(below half a float16 ulp there, {half_ulp16:.2e}: {ok}); {r.max_abs / g.max_abs:.0f}x smaller than "
        f"|relu - gelu| ({r.max_abs:.4f}); the sigmoid form quick_gelu is off by {q.max_abs:.3e}",
        {"max_abs": g.max_abs, "at": g.at, "half_float16_ulp": half_ulp16, "quick_gelu_max_abs": q.max_abs,
         "relu_max_abs": r.max_abs, "derivative_max_abs": g.max_abs_derivative},
        "gelulab properties gelu_tanh quick_gelu; gelulab plot --kind errors",
        "approximation",
    )


def _speed_parts(ctx: EvidenceContext) -> tuple[dict[str, float], dict[str, float], str]:
    s = ctx.speed()
    where = f"{s.size} float32 elements, median of {s.repeats}, {s.threads} thread"
    return s.ratios, s.ns_per_element, where


def tanh_faster(ctx: EvidenceContext) -> Evidence:
    ratios, ns, where = _speed_parts(ctx)
    parts = {}
    if "torch tanh / none" in ratios:
        parts["torch"] = ratios["torch tanh / none"] < 0.95
    parts["gelulab"] = ratios["gelulab gelu_tanh / gelu"] < 0.95
    text = []
    if "torch tanh / none" in ratios:
        text.append(f"PyTorch CPU: tanh takes {ratios['torch tanh / none']:.2f}x the time of exact "
                    f"({ns['torch.gelu.tanh']:.3g} vs {ns['torch.gelu.none']:.3g} ns/elem)")
    text.append(f"gelulab NumPy: {ratios['gelulab gelu_tanh / gelu']:.2f}x "
                f"({ns['gelulab.gelu_tanh']:.3g} vs {ns['gelulab.gelu']:.3g} ns/elem)")
    verdict = HOLDS if all(parts.values()) else FAILS if not any(parts.values()) else IN_PART
    return Evidence(verdict, "; ".join(text) + f" [{where}; faster = ratio < 0.95]",
                    {"ratios": ratios, "ns_per_element": ns, "faster": parts},
                    "gelulab claims tanh_faster", "speed")


def cost_slightly_higher(ctx: EvidenceContext) -> Evidence:
    ratios, ns, where = _speed_parts(ctx)
    torch_timed = "torch gelu(none) / relu" in ratios
    key = "torch gelu(none) / relu" if torch_timed else "gelulab gelu / relu"
    gelu_ns, relu_ns = (ns["torch.gelu.none"], ns["torch.relu"]) if torch_timed else (
        ns["gelulab.gelu"], ns["gelulab.relu"])
    rho = ratios[key]
    # "slightly higher": more than 5% and at most 2x; higher but more than 2x holds only in part
    verdict = FAILS if rho <= 1.05 else HOLDS if rho <= 2.0 else IN_PART
    networks = inference_part(ctx, "cost_on_real_models")
    return Evidence(
        _both(verdict, networks.verdict),
        f"{key}: {rho:.1f}x (GELU {gelu_ns:.3g} ns/elem vs ReLU {relu_ns:.3g}); gelulab NumPy gelu/relu "
        f"{ratios['gelulab gelu / relu']:.1f}x; higher, and 'slightly' means <= 2x here [{where}]. In "
        f"{networks.summary}",
        {"ratio": rho, "ratios": ratios, "ns_per_element": ns, "bare_tensor": verdict, "networks": networks.numbers},
        "gelulab claims cost_higher; gelulab inference", "speed",
    )


def inference_part(ctx: EvidenceContext, key: str) -> Evidence:
    """A verdict of :mod:`gelulab.bench.models` (``cost_on_real_models``, ``relu_faster_inference``) on
    the whole-network latencies, or unsettled with the reason when they cannot be measured."""
    from ..bench import models

    try:
        data = ctx.inference()
        found = getattr(models, key)(data)
    except (ImportError, RuntimeError, ValueError, OSError) as exc:
        return Evidence(UNSETTLED, f"whole networks could not be timed: {type(exc).__name__}: {exc}", {},
                        "gelulab inference")
    return Evidence(found["verdict"], f"{found['summary']} [{models.source_text(data)}]", found["numbers"],
                    "gelulab inference")


def with_inference(key: str, training_key: str) -> EvidenceFunction:
    """The whole-network latencies (``key``) and gelulab's own training (``training_key``) as two parts."""

    def evidence(ctx: EvidenceContext) -> Evidence:
        timed, own = inference_part(ctx, key), training(training_key)(ctx)
        return Evidence(_both(timed.verdict, own.verdict),
                        f"inference: {timed.verdict}, {timed.summary}. Our own training: {own.verdict}, {own.summary}",
                        {"inference": timed.numbers, "training": own.numbers}, f"{timed.command}; {own.command}")

    evidence.__name__ = f"inference[{key}]+training[{training_key}]"
    return evidence


def with_int8(training_key: str) -> EvidenceFunction:
    """Post-training int8 of the trained models (:func:`gelulab.experiments.int8.relu_small_int8`)
    and gelulab's own float training (``training_key``) as two parts."""

    def evidence(ctx: EvidenceContext) -> Evidence:
        from ..experiments import int8

        own = training(training_key)(ctx)
        try:
            result, source = ctx.int8()
            found = int8.relu_small_int8(result)
            quantized = Evidence(found["verdict"], f"{found['summary']} [{source}]", found["numbers"], found["command"])
        except (ImportError, RuntimeError, ValueError, OSError) as exc:
            quantized = Evidence(UNSETTLED, f"int8 could not be measured: {type(exc).__name__}: {exc}", {},
                                 "gelulab int8")
        return Evidence(_both(quantized.verdict, own.verdict),
                        f"int8: {quantized.verdict}, {quantized.summary}. Our own training: {own.verdict}, "
                        f"{own.summary}", {"int8": quantized.numbers, "training": own.numbers},
                        f"{quantized.command}; {own.command}")

    evidence.__name__ = f"int8+training[{training_key}]"
    return evidence


def _framework_forms(x: np.ndarray, quick: bool) -> dict[str, dict[str, float]]:
    """max |framework - exact| and max |framework - tanh form| for each framework GELU found here."""
    import importlib.util

    import torch
    import torch.nn.functional as F

    exact, tanh = get("gelu")(x), get("gelu_tanh")(x)
    t = torch.from_numpy(x)
    found = {"torch F.gelu (default)": F.gelu(t).numpy(),
             "torch F.gelu(approximate='tanh')": F.gelu(t, approximate="tanh").numpy()}
    if not quick and importlib.util.find_spec("transformers") is not None:
        try:
            from transformers.activations import ACT2FN

            for key in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
                found[f"transformers ACT2FN[{key!r}]"] = ACT2FN[key](t).detach().numpy()
        except Exception:  # a broken transformers install leaves the PyTorch evidence standing
            pass
    return {k: {"vs_exact": float(np.max(np.abs(v - exact))), "vs_tanh": float(np.max(np.abs(v - tanh)))}
            for k, v in found.items()}


def frameworks_use_tanh(ctx: EvidenceContext) -> Evidence:
    """Which form do the frameworks' GELUs compute? Each is measured against both forms."""
    try:
        import torch
    except ImportError:
        return Evidence(UNSETTLED, "torch is not installed here", {}, "gelulab claims frameworks_tanh")
    x = np.linspace(-4, 4, 801)
    forms = _framework_forms(x, ctx.quick)
    is_tanh = {k: v["vs_tanh"] < v["vs_exact"] for k, v in forms.items()}
    defaults = {k: v for k, v in is_tanh.items() if "default" in k or "['gelu']" in k}
    offered = any(is_tanh.values())
    verdict = HOLDS if all(defaults.values()) else IN_PART if offered else FAILS
    text = "; ".join(f"{k}: {'tanh' if is_tanh[k] else 'exact erf'} form (max |diff| to it "
                     f"{min(v['vs_tanh'], v['vs_exact']):.1e}, to the other {max(v['vs_tanh'], v['vs_exact']):.1e})"
                     for k, v in forms.items())
    note = "" if any("transformers" in k for k in forms) else "; transformers not checked" + (
        " in --quick" if ctx.quick else " (not installed)")
    used = census("tanh_approximation_in_transformers")(ctx)
    return Evidence(
        _both(verdict, used.verdict),
        f"torch {torch.__version__}: {text}{note}. The tanh form is offered, but the default 'gelu' is exact. "
        f"What transformers' models use, {used.summary}",
        {"forms": forms, "is_tanh": is_tanh, "measured": verdict, "used": used.verdict, **used.numbers},
        "gelulab claims frameworks_tanh; gelulab census",
    )


def gradient_flow_property(ctx: EvidenceContext) -> str:
    """The computable half of the gradient-flow claims, as a sentence with numbers."""
    g, r = properties("gelu"), properties("relu")
    zero_grad = {n: sum(float(special.ndtr(iv.hi) - special.ndtr(iv.lo)) for iv in properties(n).monotonicity.flat)
                 for n in ("gelu", "relu")}
    dec = g.monotonicity.decreasing[0] if g.monotonicity.decreasing else None
    neg_grad = float(special.ndtr(dec.hi) - special.ndtr(dec.lo)) if dec else 0.0
    return (f"computed: P(f'(Z) = 0) is {zero_grad['gelu']:g} for GELU vs {zero_grad['relu']:g} for ReLU, "
            f"E f'(Z)^2 {g.moments.second_derivative_moment.value:.3f} vs "
            f"{r.moments.second_derivative_moment.value:.3f}; "
            f"GELU' < 0 with probability {neg_grad:.3f}")


# --- training and untestable --------------------------------------------------------------------

def training(key: str | None, note: str = "", with_gradient_numbers: bool = False) -> EvidenceFunction:
    """Evidence from :func:`.training.training_evidence` (``key``), or 'not yet settled'."""

    def evidence(ctx: EvidenceContext) -> Evidence:
        extra = ("; " + gradient_flow_property(ctx)) if with_gradient_numbers else ""
        if key is None:
            return Evidence(UNSETTLED, note + extra, {}, "gelulab claims")
        try:
            from .training import training_evidence

            result = training_evidence(key, ctx.store_path)
        except ImportError:
            result = None
        except Exception as exc:  # a broken results store must not hide the other claims
            return Evidence(UNSETTLED, f"training evidence failed: {type(exc).__name__}: {exc}{extra}", {},
                            "gelulab sweep")
        if not result or result.get("verdict") not in VERDICTS:
            return Evidence(UNSETTLED, NOT_YET_TRAINED + (f" ({note})" if note else "") + extra,
                            {"training_key": key}, "gelulab sweep")
        return Evidence(result["verdict"], str(result.get("summary", "")) + extra,
                        {"training_key": key, **{k: v for k, v in result.items() if k != "verdict"}},
                        str(result.get("command", "gelulab sweep")))

    evidence.__name__ = f"training[{key}]"
    return evidence


def census(key: str, training_key: str | None = None) -> EvidenceFunction:
    """Evidence from the census of real model definitions (``gelulab.census.VERDICTS[key]``): what
    today's models use. With ``training_key``, gelulab's own training on the same question is a
    second part: the verdicts agree, or the claim holds in part; training not yet run leaves the
    census verdict alone, and says so."""

    def evidence(ctx: EvidenceContext) -> Evidence:
        from ..census import VERDICTS as CENSUS_VERDICTS
        from ..census import CensusError

        try:
            found = CENSUS_VERDICTS[key](ctx.census())
        except (CensusError, ImportError) as exc:
            return Evidence(UNSETTLED, f"the census of model definitions could not be taken: {exc}", {},
                            "gelulab census")
        census_ev = Evidence(found["verdict"], found["summary"], found["numbers"], found["command"])
        sample = "" if ctx.census().meta.get("complete", True) else " (the explainer's example models only)"
        if training_key is None:
            return Evidence(census_ev.verdict, f"census{sample}: {census_ev.summary}", {"census": census_ev.numbers},
                            census_ev.command)
        own = training(training_key)(ctx)
        verdict = _both(census_ev.verdict, own.verdict)
        summary = f"census{sample}: {census_ev.summary} Our own training: {own.verdict}, {own.summary}"
        return Evidence(verdict, summary, {"census": census_ev.numbers, "training": own.numbers},
                        f"{census_ev.command}; {own.command}")

    evidence.__name__ = f"census[{key}]" + (f"+training[{training_key}]" if training_key else "")
    return evidence


def _both(a: str, b: str) -> str:
    """The verdict of two independent parts: one left unsettled leaves the other; agreeing parts keep
    their verdict; disagreeing ones hold in part."""
    if UNSETTLED in (a, b):
        return b if a == UNSETTLED else a
    return a if a == b else IN_PART


def not_testable(reason: str) -> EvidenceFunction:
    def evidence(ctx: EvidenceContext) -> Evidence:
        return Evidence(UNSETTLED, reason, {}, "gelulab claims")

    evidence.__name__ = "not_testable"
    return evidence


# --- the literature ------------------------------------------------------------------------------

def _literature_evidence(ctx: EvidenceContext, parts: dict[str, bool], summary: str, keys: list[str]) -> Evidence:
    """A verdict per the literature, with gelulab's own training on language beside it (not mixed into it)."""
    from . import literature

    cited = [literature.row(k) for k in keys]
    own = training("gelu_better_language")(ctx)
    beside = f"; our own training (computed): {own.verdict}, {own.summary}"
    return Evidence(combine(parts), f"{literature.PER_THE_LITERATURE}: {summary}{beside}",
                    {"per_the_literature": True, "parts": parts,
                     "sources": {r["key"]: literature.source(r) for r in cited},
                     "own_training": {"verdict": own.verdict, **own.numbers}},
                    "gelulab claims")


def reported_pretraining(ctx: EvidenceContext) -> Evidence:
    """'Better performance reported in large pretraining setups (BERT, GPT, RoBERTa)', against published
    results: whether those papers report a comparison, and the controlled pretraining comparison."""
    from . import literature

    named = ["bert", "gpt", "roberta"]
    parts = {f"{literature.row(k)['model']} reports GELU better than ReLU": literature.row(k)["compares"]
             for k in named}
    t5 = literature.row("t5_glu_variants")
    for point, ok in literature.better(t5, "gelu", "relu").items():
        parts[f"T5 pretraining, GELU better at {point}"] = ok
    silent = ", ".join(literature.row(k)["model"] for k in named if not literature.row(k)["compares"])
    outcome = ", ".join(f"{'better' if ok else 'not better'} at {point}"
                        for point, ok in literature.better(t5, "gelu", "relu").items())
    summary = (f"{silent} adopt GELU without reporting a comparison with ReLU; the controlled pretraining "
               f"comparison (Shazeer 2020) found {literature.comparison_sentence(t5, 'gelu', 'relu')}: GELU "
               f"{outcome}")
    return _literature_evidence(ctx, parts, summary, [*named, "t5_glu_variants"])


def large_pretrained_gelu(ctx: EvidenceContext) -> Evidence:
    """'Large, pre-trained architectures (BERT, GPT) -> GELU', as advice, against published results."""
    from . import literature

    parts = {f"{literature.row(k)['model']} uses GELU": literature.row(k).get("activation") == "gelu"
             for k in ("bert", "gpt")}
    t5 = literature.row("t5_glu_variants")
    final = list(t5["checkpoints"])[-1]
    parts[f"GELU beats ReLU at the end of T5 pretraining ({final})"] = literature.better(t5, "gelu", "relu")[final]
    gated = literature.better(t5, "geglu", "gelu")[final] and literature.better(t5, "swiglu", "gelu")[final]
    summary = (f"BERT and GPT do use GELU; at the end of the one controlled pretraining comparison "
               f"(T5, {final}) GELU {t5['checkpoints'][final]['gelu']} is not better than ReLU "
               f"{t5['checkpoints'][final]['relu']}"
               + (f", and the gated GEGLU {t5['checkpoints'][final]['geglu']} and SwiGLU "
                  f"{t5['checkpoints'][final]['swiglu']} beat both" if gated else ""))
    return _literature_evidence(ctx, parts, summary, ["bert", "gpt", "t5_glu_variants"])
