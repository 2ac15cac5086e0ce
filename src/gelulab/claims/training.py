"""Training evidence for the explainer's advice claims, computed from the stored runs.

``training_evidence(key)`` answers one claim with a verdict computed from paired comparisons to ReLU
(same seeds, same data order; paired t-test at alpha = 0.05), never typed in:

- ``gelu_better_language``: GELU vs ReLU, validation loss of the character-level transformer (lm).
- ``relu_better_vision``: ReLU vs GELU, test accuracy of every vision experiment (digits, MNIST-1D).
- ``relu_small_models``: ReLU vs GELU on every (small) model trained here, primary metric of each.
- ``silu_replacing_relu``: SiLU vs ReLU, test accuracy of every vision experiment.
- ``gelu_gradient_flow``: GELU vs ReLU, the mean log ratio of the gradient norm reaching the first
  layer to that of the last layer, in every experiment (higher = more gradient reaches the input side).

Verdicts over several experiments: "holds" when the claimed side is significantly better in all of
them, "fails" when it is significantly worse in at least one and better in none, "holds in part" when
it is significantly better in some but not all, and "cannot be settled here" when no difference is
significant at this scale.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..experiments.store import RunStore, default_store_path

if TYPE_CHECKING:  # the run machinery imports torch: loaded only when there are runs to judge
    from ..experiments.defaults import SweepSpec
    from ..experiments.stats import ExperimentSummary

KEYS = ("gelu_better_language", "relu_better_vision", "relu_small_models", "silu_replacing_relu",
        "gelu_gradient_flow")
VISION_TASKS = ("digits", "mnist1d")


@dataclass(frozen=True)
class Comparison:
    """``favoured`` is claimed better than ``other`` on ``metric`` (None: each task's primary metric)."""

    favoured: str
    other: str
    tasks: tuple[str, ...]
    metric: str | None
    what: str


COMPARISONS: dict[str, Comparison] = {
    "gelu_better_language": Comparison("gelu", "relu", ("lm",), "val_loss", "validation loss (nats/char)"),
    "relu_better_vision": Comparison("relu", "gelu", VISION_TASKS, "test_acc", "test accuracy"),
    "relu_small_models": Comparison("relu", "gelu", ("lm", *VISION_TASKS), None, "primary metric"),
    "silu_replacing_relu": Comparison("silu", "relu", VISION_TASKS, "test_acc", "test accuracy"),
    "gelu_gradient_flow": Comparison("gelu", "relu", ("lm", *VISION_TASKS), "grad_flow_log_ratio",
                                "ln(|grad first layer| / |grad last layer|)"),
}


def _default_hashes() -> dict[str, SweepSpec]:
    from ..experiments.defaults import DEFAULT_SWEEP
    from ..experiments.tasks import experiment_hash, make_config

    return {experiment_hash(make_config(s.task, s.activations[0], **s.overrides)): s for s in DEFAULT_SWEEP}


def select_experiments(summaries: Sequence[ExperimentSummary], tasks: Sequence[str],
                       activations: Sequence[str]) -> list[ExperimentSummary]:
    """Per experiment label of ``tasks``, the one to judge: the default sweep's if stored with every
    activation in ``activations`` on at least two seeds, else the one with the most seeds."""
    defaults = _default_hashes()
    best: dict[str, ExperimentSummary] = {}
    for s in summaries:
        if s.task not in tasks or any(s.row(a) is None or len(s.row(a).seeds) < 2 for a in activations):
            continue
        key = (s.experiment_hash in defaults, min(len(s.row(a).seeds) for a in activations))
        current = best.get(s.label)
        if current is None or key > (current.experiment_hash in defaults,
                                     min(len(current.row(a).seeds) for a in activations)):
            best[s.label] = s
    return [best[k] for k in sorted(best)]


def _fmt(value: float, metric: str) -> str:
    return f"{100 * value:.1f} %" if metric == "test_acc" else f"{value:.3f}"


def _fmt_ci(value: float, half: float, metric: str) -> str:
    if metric == "test_acc":
        return f"{100 * value:.1f} ± {100 * half:.1f} %"
    return f"{value:.3f} ± {half:.3f}"


def judge(claim: Comparison, summaries: Sequence[ExperimentSummary]) -> tuple[str, list[str]] | None:
    """(verdict, one clause of numbers per experiment) or None when no experiment has both activations."""
    from ..experiments.stats import better

    chosen = select_experiments(summaries, claim.tasks, (claim.favoured, claim.other))
    if not chosen:
        return None
    outcomes, clauses = [], []
    for s in chosen:
        metric = claim.metric or s.metrics[0]
        base, fav, oth = s.baseline, s.row(claim.favoured), s.row(claim.other)
        # comparisons are stored against the baseline (relu); orient them as favoured − other
        if base == claim.other:
            comp, sign = fav.vs_baseline.get(metric), 1
        elif base == claim.favoured:
            comp, sign = oth.vs_baseline.get(metric), -1
        else:
            comp, sign = None, 1
        outcome = sign * better(comp, metric)
        outcomes.append(outcome)
        word = {1: "better", -1: "worse", 0: "not significantly different"}[outcome]
        diff = "" if comp is None else (
            f", diff {_fmt_ci(sign * comp.difference.mean, comp.difference.half_width, metric)}, "
            f"p = {comp.p_value:.2g}, n = {len(comp.seeds)}")
        clauses.append(f"{s.label}: {claim.favoured} {_fmt(fav.metrics[metric].mean, metric)} vs "
                       f"{claim.other} {_fmt(oth.metrics[metric].mean, metric)}{diff} ({word})")
    wins, losses = outcomes.count(1), outcomes.count(-1)
    if wins == len(outcomes):
        verdict = "holds"
    elif losses and not wins:
        verdict = "fails"
    elif wins:
        verdict = "holds in part"
    else:
        verdict = "cannot be settled here"
    return verdict, clauses


def _command(claim: Comparison) -> str:
    from ..experiments.defaults import DEFAULT_SWEEP

    specs = [s for s in DEFAULT_SWEEP if s.task in claim.tasks]
    tasks = sorted({s.task for s in specs})
    return " && ".join([*(s.command() for s in specs), f"gelulab results --task {','.join(tasks)}"])


_VERDICTS: dict[tuple[str, int, int], dict[str, dict]] = {}


def training_verdicts(store_path: str | os.PathLike[str] | None = None) -> dict[str, dict]:
    """Every comparison of ``COMPARISONS`` judged on the stored runs, once per state of the store
    file: per key, the verdict, a one-line summary with the numbers, the reproducing command and where
    the runs came from. Keys without a comparable experiment are left out; an empty or missing store
    gives {}.

    ``store_path`` defaults to ``$GELULAB_STORE`` or ``results/gelulab.sqlite`` (relative to the cwd).
    The Training section's table and the Claims section's verdicts both read this.
    """
    path = Path(store_path) if store_path is not None else default_store_path()
    if not path.exists():
        return {}
    stat = path.stat()
    stamp = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if stamp not in _VERDICTS:
        _VERDICTS.clear()  # a new run makes the old verdicts stale
        _VERDICTS[stamp] = _judge_store(path)
    return _VERDICTS[stamp]


def _judge_store(path: Path) -> dict[str, dict]:
    with RunStore(path, readonly=True) as store:
        runs = store.runs()
    if not runs:
        return {}
    from ..experiments.stats import summarise
    from ..experiments.tasks import LOWER_IS_BETTER, version_note

    summaries = summarise(runs, baseline="relu")
    newest = max(r.finished_at for r in runs)
    source = f"{len(runs)} stored runs in {path}, the newest finished {newest}{version_note(runs)}"
    out = {}
    for key, claim in COMPARISONS.items():
        result = judge(claim, summaries)
        if result is None:
            continue
        verdict, clauses = result
        direction = "lower" if (claim.metric or "") in LOWER_IS_BETTER else "higher"
        metric_note = claim.what if claim.metric is None else f"{claim.what}, {direction} is better"
        summary = f"{claim.favoured} vs {claim.other} on {metric_note}: " + "; ".join(clauses)
        out[key] = {"verdict": verdict, "summary": summary, "command": _command(claim),
                    "experiments": len(clauses), "clauses": clauses, "source": source}
    return out


def training_evidence(key: str, store_path: str | os.PathLike[str] | None = None) -> dict | None:
    """One comparison of :func:`training_verdicts`; None without stored runs to judge it on."""
    if key not in COMPARISONS:
        raise KeyError(f"unknown training claim {key!r}; known: {', '.join(KEYS)}")
    return training_verdicts(store_path).get(key)


@dataclass
class ReportRuns:
    """The report's training store after the default sweep's missing runs were trained into it."""

    store_path: Path
    specs: list
    workers: int
    store_arg: str | None  # the --store the rerun commands name (None: the default store)
    stored_before: set
    sweep: Any  # experiments.sweep.SweepSummary


def report_runs(quick: bool, out_dir: Path) -> ReportRuns:
    """Train what the report's sweep is missing (the embedded default sweep into the default store;
    ``quick``: a tiny sweep into a store inside ``out_dir``). Imports torch. The report asks once per
    build (``ReportContext.training_runs``), so the Training and the Claims sections share one sweep."""
    from ..experiments.defaults import DEFAULT_SWEEP, DEFAULT_WORKERS, QUICK_SWEEP, plan_of
    from ..experiments.sweep import run_sweep

    if quick:
        specs, store_path, workers = QUICK_SWEEP, Path(out_dir) / "training.sqlite", 1
    else:
        specs, store_path, workers = DEFAULT_SWEEP, default_store_path(), DEFAULT_WORKERS
    store_arg = str(store_path) if quick or "GELULAB_STORE" in os.environ else None
    stored_before: set = set()
    if Path(store_path).exists():
        with RunStore(store_path, readonly=True) as store:
            stored_before = store.finished_keys()
    sweep = run_sweep(plan_of(specs), store_path, workers=workers, show_progress=False)
    return ReportRuns(Path(store_path), list(specs), workers, store_arg, stored_before, sweep)
