"""Report section: latency of real networks with each activation (``gelulab inference``).

Uses the stored measurement of real-size models (results/bench/models.json, or
``$GELULAB_MODEL_BENCH``) when there is one, saying which machine took it and how old it is; else
it measures the report's small set now (four models, batch 1, eager, ReLU and GELU) and stores it.
``--quick`` measures few-layer models and stores nothing.
"""

from __future__ import annotations

from datetime import datetime

from .section import ReportContext, Section, age_text


def _age(groups: list[dict]) -> str:
    try:
        return age_text(datetime.fromisoformat(max(g["measured_at"] for g in groups).replace("Z", "+00:00")))
    except (KeyError, ValueError):
        return "of unknown age"


def _int8(ctx: ReportContext) -> list[str]:
    """The int8 subsection: the trained models quantized after training (``gelulab int8``)."""
    from ..experiments import int8

    try:
        result, source = int8.load_or_measure(ctx.quick)
    except (ImportError, RuntimeError, ValueError, OSError) as exc:
        return ["", "### int8 for small models", "", f"_Not measured: {type(exc).__name__}: {exc}_"]
    verdict = int8.relu_small_int8(result)
    return ["", "### int8 for small models", "",
            "The vision tasks' models and the language model, trained with each activation (same seed and data "
            f"order), quantized to int8 after training ({result.meta.get('engine')} backend; the vision models "
            "static in FX graph mode, the language model dynamically: int8 matmuls, activations in float); latency "
            f"on one thread (medians, every variant in turns). CPU: {result.meta.get('cpu')}. Source: {source}.", "",
            int8.markdown_table(result), "",
            f"- “Small models (mobile) → ReLU”, the int8 part: **{verdict['verdict']}**. {verdict['summary']}."]


def build(ctx: ReportContext) -> Section:
    from ..bench import models

    data = models.load_or_measure(ctx.quick)
    header, rows = models.table_rows(data)
    figure = models.plot(data, ctx.figures_dir / "inference.png")
    cost, faster = models.cost_on_real_models(data), models.relu_faster_inference(data)
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    text = [
        "Whole networks from transformers' own model definitions (random weights, no download), each with its "
        "own activation and with every activation module swapped to torch's ReLU, GELU, GELU-tanh and SiLU; "
        "the variants are timed in turns on the same inputs (median of repeats under `torch.inference_mode`), "
        "each as a ratio to the ReLU variant of the same turns. The activation share is the eager forward's "
        "time inside the activation modules, from `torch.profiler`. "
        f"Source: {models.source_text(data)}" + (f", {_age(data['groups'])}." if data.get("stored") else "."),
        "",
        *table,
        "",
        f"- “Computation cost: slightly higher | very cheap”: **{cost['verdict']}**. {cost['summary']}.",
        f"- “Deep vision networks, faster inference → ReLU”: **{faster['verdict']}**. {faster['summary']}.",
    ]
    if data.get("small"):
        text += ["", "These are few-layer stand-ins (`--quick`): they show the pipeline, not the answer."]
    text += _int8(ctx)
    source = models.source_text(data) + (f", {_age(data['groups'])}" if data.get("stored") else "")
    return Section(key="inference", title="Inference", markdown="\n".join(text), rerun="gelulab inference",
                   figures=[figure], data_source=source,
                   highlights=[f"Whole-network inference: {cost['summary']}."])
