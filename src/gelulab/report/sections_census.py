"""Report section: which activation real models use, from the census of transformers' (and timm's) models.

Uses the stored census of the installed library versions when there is one (``gelulab census``
writes it; results/census/ or ``$GELULAB_CENSUS_DIR``), else takes it now (about a minute on two
cores) and stores it for the next build. ``--quick`` never takes the full census: without a stored
one it censuses the explainer's example models only, which shows the pipeline, not the answer.
"""

from __future__ import annotations

from datetime import datetime

from .section import ReportContext, Section, age_text

_QUOTES = {
    "popularity": "Popularity: Transformers (BERT, GPT, T5), LLMs | CNNs (VGG, ResNet), early architectures",
    "relu_king_of_large_vision": "ReLU is still king for very large vision models (but Swish, SiLU are now "
                                 "replacing ReLU slowly there too!)",
    "relu_for_vision": "ReLU = Simple, sharp activation → Great for computer vision",
    "tanh_approximation_in_transformers": "[the tanh approximation] is what is used in frameworks like "
                                          "HuggingFace Transformers",
}


def _census(ctx: ReportContext):
    from ..census import store

    return store.for_report(ctx.quick)


def _age(created: str | None) -> str:
    try:
        return age_text(datetime.fromisoformat(created or ""))
    except ValueError:
        return "of unknown age"


def _missing(why: str) -> Section:
    return Section(key="census", title="Census", rerun="gelulab census", measured=False,
                   data_source="none: the census could not be taken",
                   markdown=f"The census of model definitions could not be taken here: {why}.")


def build(ctx: ReportContext) -> Section:
    from ..census import CensusError, census_data
    from ..census.plot import plot_shares
    from ..census.render import activation_rows, example_rows, group_rows, markdown_table, source_line

    try:
        census = _census(ctx)
    except CensusError as exc:
        return _missing(str(exc))
    data = census_data(census)
    s = data["summary"]
    figure = plot_shares(s, ctx.figures_dir / "census_shares.png")
    verdict_lines = [f"- “{_QUOTES.get(k, k)}”: **{v['verdict']}**. {v['summary']}"
                     for k, v in data["verdicts"].items()]
    g, fm = s["gated"], s["field_vs_modules"]
    text = [
        "Every model architecture defined in the installed transformers (each registered config class, "
        "instantiated with its defaults, sub-configs of composite models followed) and in timm where it "
        "imports, built on the meta device without weights; the activation modules inside each built model "
        "are counted (`gelulab.torch.swap_activations` recognises them) and mapped to registry names, so "
        "aliases fold: `gelu_new` and `gelu_pytorch_tanh` are `gelu_tanh`. A model counts once, under the "
        "activation with the most instances; where the model does not build, under its config fields "
        "(`hidden_act`, `activation_function`, `hidden_activation`, `feed_forward_proj`). Modality comes from "
        "transformers' auto mappings (the task heads it registers for the type). " + source_line(data),
        "",
        markdown_table(*activation_rows(s)),
        "",
        f"Gated blocks (a gate projection beside the activation: GEGLU, SwiGLU): {g['gated']} models, "
        f"{g['not_gated']} not gated, {g['unknown']} unknown. The top-level config field and the built modules "
        f"disagree for {fm['disagree']} of {fm['agree'] + fm['disagree']} models{_disagreements(fm)}. "
        f"{s['failures']['count']} configs or models did not build; their config fields still count.",
        "",
        "By modality:",
        "",
        markdown_table(*group_rows(s, "by_modality")),
        "",
        "By parameters of the default config:",
        "",
        markdown_table(*group_rows(s, "by_size")),
        "",
        "The explainer's example models, by their default config:",
        "",
        markdown_table(*example_rows(data["examples"])),
        "",
        "The explainer's statements about practice, against the census:",
        "",
        *verdict_lines,
    ]
    complete = bool(s.get("complete"))
    if not complete:
        text += ["", f"*This build censused {s['models']} models only (--quick without a stored census): the "
                 "shares above show that the census works, not what models use. `gelulab census` takes the "
                 "full one.*"]
    source = (f"stored {census.path}, {_age(s['created'])}" if census.reused else
              f"computed in this build ({s['seconds']} s)" + (f", stored in {census.path}" if census.path else ""))
    return Section(key="census", title="Census", markdown="\n".join(text), rerun="gelulab census",
                   figures=[figure], measured=complete, data_source=source,
                   highlights=_highlights(data) if complete else [])


def _disagreements(fm: dict, n: int = 4) -> str:
    shown = [f"`{e['model']}` says {e['field']}, runs {e['modules']}" for e in fm["examples"][:n]]
    return f" (e.g. {'; '.join(shown)})" if shown else ""


def _highlights(data: dict) -> list[str]:
    s = data["summary"]
    top = list(s["activations"].items())[:5]
    shares = ", ".join(f"{k} {v} ({100 * v / s['models']:.0f} %)" for k, v in top)
    out = [f"Of {s['models']} model definitions ({', '.join(s['by_source'])}), by default: {shares}."]
    for key, v in data["verdicts"].items():
        out.append(f"Census, “{_QUOTES.get(key, key)}”: **{v['verdict']}** ({v['summary']})")
    return out
