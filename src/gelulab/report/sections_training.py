"""Report section "Training": the explainer's advice claims answered with controlled training runs.

Runs the embedded default sweep (only the runs missing from the store; ``ctx.quick``: a tiny sweep
into a store inside the report folder; :func:`gelulab.claims.training.report_runs`, shared with the
Claims section), then shows per experiment mean ± 95 % CI over seeds, the
paired difference to ReLU with its p-value, the learning curves, and one verdict per claim.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..claims import training_statements
from ..claims.training import COMPARISONS, training_verdicts
from .section import COMPUTED_NOW, ReportContext, Section, age_text

SHOWN_VERDICT = {"cannot be settled here": "not significant at this scale"}


def _scale_note(lm_summary, lm_params: int | None) -> str:
    if lm_summary is None or lm_params is None:
        return ""
    s = lm_summary.settings
    chars = s["steps"] * s["batch_size"] * s["block_size"]
    return (
        f"**Scale.** The language model here has {lm_params:,} parameters ({s['n_layer']} layers, "
        f"d_model {s['n_embd']}, d_ff {s['d_ff']}; gated units use d_ff·2/3 so the counts match) and sees "
        f"{chars:,} training characters ({s['steps']} steps × {s['batch_size']} × {s['block_size']}). "
        "Shazeer (2020), *GLU Variants Improve Transformer*, trained T5-base-sized models (about 220 M "
        "parameters, d_model 768, d_ff 3072) for 65,536 steps on C4 and reports held-out log-perplexity per "
        "subword token FFN_ReLU 1.997, FFN_GELU 1.983, FFN_GEGLU 1.942: about "
        f"{220e6 / lm_params:,.0f}× our parameters, and differences of 0.01–0.05 nats that need that scale "
        "and a low run-to-run spread to show. Hendrycks & Gimpel (2016) compared GELU, ReLU and ELU on MNIST, "
        "CIFAR-10/100 (up to a wide residual network), TIMIT and Twitter POS tagging. Our nats per character "
        "are not comparable in absolute value with per-token log-perplexities; only the ordering and the "
        "significance of differences are. A verdict of 'not significant at this scale' says the runs here "
        "cannot tell the activations apart, not that the papers are wrong. Differences this small also "
        "depend on the optimiser settings and the initialisation (here LeCun-normal projections, AdamW with "
        "warm-up and cosine decay, activations computed by PyTorch's own ops; `--set impl=gelulab` trains "
        "with gelulab's correctly rounded ops instead): a verdict is about these settings."
    )


def build(ctx: ReportContext) -> Section:
    # the training stack imports torch: loaded when the section is built, not when the report module is
    from ..experiments.plots import plot_learning_curves
    from ..experiments.stats import summarise
    from ..experiments.store import RunStore
    from ..experiments.tables import markdown_table
    from ..experiments.tasks import experiment_hash, make_config, version_note

    trained = ctx.training_runs()  # the sweep runs once per build, for this section and the claims
    specs, store_path, workers = trained.specs, trained.store_path, trained.workers
    store_arg, stored_before, sweep = trained.store_arg, trained.stored_before, trained.sweep
    commands = [s.command(store=store_arg, workers=workers) for s in specs]
    wanted = {experiment_hash(make_config(s.task, s.activations[0], **s.overrides)) for s in specs}
    with RunStore(store_path, readonly=True) as store:
        runs = [r for r in store.runs(with_curves=True) if r.experiment_hash in wanted]
    rerun = " && ".join([*commands, "gelulab results" + (f" --store {store_arg}" if store_arg else "")])
    if not runs:
        return Section(key="training", title="Training", rerun=rerun, measured=False,
                       markdown="No training run could be stored: " +
                       "; ".join(f"{label}: {err}" for label, err in sweep.failed[:3]))
    summaries = summarise(runs, baseline="relu")
    reused = [r for r in runs if (r.config_hash, r.seed) in stored_before]
    if reused:
        oldest = min(datetime.fromisoformat(r.finished_at) for r in reused)
        source = (f"{len(reused)} stored runs from {store_path} (oldest {age_text(oldest)}); "
                  f"{len(runs) - len(reused)} trained in this build{version_note(reused)}")
    else:
        source = COMPUTED_NOW
    figure = plot_learning_curves(runs, Path(ctx.figures_dir) / "training_curves.png",
                                  title="learning curves (mean over seeds; band: min..max)")
    lines = [
        "Controlled runs: every activation trains with the same seeds (seed = initial-weight stream and "
        "minibatch order), so differences are paired by seed. Each table gives the mean ± 95 % CI over seeds "
        "(Student t), and the paired difference to ReLU of the first metric with the two-sided paired t-test's "
        "p-value. Data ship with the installed packages or are generated (CPython's documentation text, "
        "scikit-learn's digits, MNIST-1D).",
        "",
        f"This build trained {sweep.finished} runs and reused {sweep.skipped} stored ones "
        f"({len(sweep.failed)} failed) from `{store_path}`, in {sweep.seconds:.0f} s "
        f"({workers} worker process{'es' if workers > 1 else ''}, 1 torch thread each; the load of other "
        "processes on the machine is not controlled).",
        "",
        "### Verdicts on the explainer's advice",
        "",
        "| claim (explainer) | verdict | numbers |",
        "|---|---|---|",
    ]
    highlights = []
    judged_all = training_verdicts(store_path)  # the same verdicts the Claims section shows
    statements = training_statements()
    for key in COMPARISONS:
        judged = judged_all.get(key)
        if judged is None:
            lines.append(f"| {statements[key]} | no runs | — |")
            continue
        verdict, clauses = judged["verdict"], judged["clauses"]
        shown = SHOWN_VERDICT.get(verdict, verdict)
        lines.append(f"| {statements[key]} | **{shown}** | {'; '.join(clauses)} |")
        if key in ("gelu_better_language", "relu_better_vision"):
            highlights.append(f"Training, “{statements[key]}”: **{shown}** ({clauses[0]}"
                              + (f"; +{len(clauses) - 1} more" if len(clauses) > 1 else "") + ").")
    lines += ["", "The gradient-flow measurement is the mean over training steps of ln(‖∇ first layer‖ / "
              "‖∇ last layer‖); higher means more of the gradient reaches the input side. 'Small models' is "
              "judged on every model here (all are small); the explainer's mobile argument is also about "
              "inference cost, which the speed section measures, not training.", ""]
    lm = next((s for s in summaries if s.task == "lm"), None)
    for s in summaries:
        settings = ", ".join(f"{k} {v}" for k, v in sorted(s.settings.items())
                             if k not in ("task", "task_version", "model", "corpus"))
        lines += [f"### {s.label}", "", f"Settings: {settings}.", "", markdown_table(s), ""]
    if lm is not None:
        order = sorted(lm.rows, key=lambda r: r.metrics["val_loss"].mean)
        lines += ["Order by mean validation loss (best first): " +
                  " < ".join(f"{r.activation} {r.metrics['val_loss'].mean:.4f}" for r in order) + ".", ""]
    note = _scale_note(lm, lm.rows[0].n_params if lm and lm.rows else None)
    if note:
        lines += [note, ""]
    if ctx.quick:
        lines += ["*Quick build: a tiny sweep of a few steps; the numbers only show that the pipeline works.*", ""]
    return Section(key="training", title="Training", markdown="\n".join(lines), rerun=rerun, figures=[figure],
                   measured=not ctx.quick, highlights=[] if ctx.quick else highlights, data_source=source)
