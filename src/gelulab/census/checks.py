"""The explainer's statements about practice, checked against the census.

The explainer names models (BERT, GPT, T5, RoBERTa as GELU models; VGG and ResNet as ReLU ones) and
says which activation kinds of model use. ``examples`` looks up each named model's default
activation; the verdict functions weigh the statements against every model of the census. Each
returns ``{"verdict", "summary", "numbers", "command"}``, the verdict one of "holds", "fails",
"holds in part" (or "cannot be settled here" when the census has none of the models it needs).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .activations import gelu_forms
from .summary import counts, label

COMMAND = "gelulab census"

#: "Very large" vision models: at least this many parameters in their default config.
LARGE_VISION_PARAMETERS = 300e6
#: LLMs: text models with a causal-LM head and at least this many parameters.
LLM_PARAMETERS = 1e9


@dataclass(frozen=True)
class Example:
    """A model the explainer names (or, for a kind it names, a model of that kind) and what it says of it."""

    label: str
    source: str  # "transformers" or "timm"
    model: str  # model type (transformers) or model name (timm)
    says: str  # "GELU" or "ReLU"
    where: str  # the explainer's words


EXAMPLES: tuple[Example, ...] = (
    Example("BERT", "transformers", "bert", "GELU", "Popularity: Transformers (BERT, GPT, T5)"),
    Example("GPT", "transformers", "openai-gpt", "GELU", "Popularity: Transformers (BERT, GPT, T5)"),
    Example("GPT-2", "transformers", "gpt2", "GELU", "Popularity: Transformers (BERT, GPT, T5)"),
    Example("T5", "transformers", "t5", "GELU", "Popularity: Transformers (BERT, GPT, T5)"),
    Example("RoBERTa", "transformers", "roberta", "GELU", "Better performance reported in large pretraining "
            "setups (BERT, GPT, RoBERTa)"),
    Example("LLaMA", "transformers", "llama", "GELU", "Popularity: ... LLMs"),
    Example("ViT", "transformers", "vit", "ReLU", "Deep vision networks, faster inference: ReLU"),
    Example("ConvNeXt", "transformers", "convnext", "ReLU", "Deep vision networks, faster inference: ReLU"),
    Example("ResNet", "transformers", "resnet", "ReLU", "Popularity: CNNs (VGG, ResNet)"),
    Example("VGG", "timm", "vgg16", "ReLU", "Popularity: CNNs (VGG, ResNet)"),
)


def _says(kind: str) -> set[str]:
    return set(gelu_forms()) if kind == "GELU" else {"relu"}


def _census(census):
    if census is None:
        from .store import load_or_run

        census = load_or_run()
    return census


def examples(census=None) -> list[dict]:
    """Each example: the activation its default config uses, and whether that is what the explainer says."""
    census = _census(census)
    by_key = {(r["source"], r["model_type"]): r for r in census.records}
    rows = []
    for ex in EXAMPLES:
        r = by_key.get((ex.source, ex.model))
        row = {"label": ex.label, "source": ex.source, "model": ex.model, "explainer_says": ex.says,
               "where": ex.where, "activation": None, "gated": None, "parameters": None, "evidence": None,
               "agrees": None, "missing": None}
        if r is None:
            row["missing"] = (census.meta.get("timm_missing") or "timm is not censused") if ex.source == "timm" \
                else "not in this census"
        else:
            row.update(activation=label(r), gated=r.get("gated"), parameters=r.get("parameters"),
                       evidence=r.get("activation_from"), agrees=r.get("activation") in _says(ex.says))
        rows.append(row)
    return rows


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f} %"


def _shares(records: list[dict]) -> dict:
    c = counts(records)
    n = sum(c.values())
    gelu = sum(c[g] for g in gelu_forms())
    return {"models": n, "gelu_forms": gelu, "relu": c["relu"], "silu": c["silu"],
            "gelu_share": gelu / n if n else None, "relu_share": c["relu"] / n if n else None,
            "silu_share": c["silu"] / n if n else None, "counts": dict(c.most_common())}


def _example_text(rows: list[dict]) -> str:
    parts = []
    for r in rows:
        if r["activation"] is None:
            parts.append(f"{r['label']} not censused")
        else:
            parts.append(f"{r['label']} {r['activation']}" + ("" if r["agrees"] else f" (not {r['explainer_says']})"))
    return ", ".join(parts)


def popularity(census=None) -> dict:
    """"Popularity: Transformers (BERT, GPT, T5), LLMs [GELU] | CNNs (VGG, ResNet), early architectures [ReLU]".

    Holds when every named model uses what the row says and a GELU form is the most used activation
    of today's LLMs (text models with a causal-LM head and at least 1B parameters); fails when none of
    these does; holds in part otherwise.
    """
    census = _census(census)
    named = [r for r in examples(census) if r["label"] in ("BERT", "GPT", "GPT-2", "T5", "VGG", "ResNet")]
    llms = [r for r in census.records if r.get("modality") == "text" and "CAUSAL_LM" in r.get("tasks", [])
            and (r.get("parameters") or 0) >= LLM_PARAMETERS]
    llm = _shares(llms)
    top_llm = max(llm["counts"], key=llm["counts"].get) if llm["counts"] else None
    checks = [r["agrees"] for r in named if r["agrees"] is not None] + [top_llm in gelu_forms()]
    verdict = "holds" if all(checks) else "fails" if not any(checks) else "holds in part"
    summary = (f"{_example_text(named)}; of {llm['models']} causal LMs with at least {LLM_PARAMETERS / 1e9:.0f}B "
               f"parameters, {_pct(llm['gelu_share'])} use a GELU form and {_pct(llm['silu_share'])} SiLU "
               f"(most: {top_llm}).")
    return {"verdict": verdict, "summary": summary, "command": COMMAND,
            "numbers": {"examples": {r["label"]: r["activation"] for r in named}, "llms": llm,
                        "llm_most_used": top_llm, "llm_min_parameters": LLM_PARAMETERS}}


def relu_king_of_large_vision(census=None) -> dict:
    """"ReLU is still king for very large vision models (but Swish, SiLU are now replacing ReLU slowly there too!)".

    Among vision models of at least 300M parameters: holds when ReLU is the most used activation,
    fails otherwise. A census has no dates, so "replacing slowly" is answered only as the shares of
    SiLU and ReLU today.
    """
    census = _census(census)
    large = [r for r in census.records if r.get("modality") == "vision"
             and (r.get("parameters") or 0) >= LARGE_VISION_PARAMETERS]
    s = _shares(large)
    if not s["models"]:
        return {"verdict": "cannot be settled here", "command": COMMAND, "numbers": s,
                "summary": "The census holds no vision model of 300M parameters or more."}
    top = max(s["counts"], key=s["counts"].get)
    verdict = "holds" if top == "relu" else "fails"
    summary = (f"Of {s['models']} vision models with at least {LARGE_VISION_PARAMETERS / 1e6:.0f}M parameters, "
               f"{_pct(s['relu_share'])} use ReLU, {_pct(s['gelu_share'])} a GELU form and "
               f"{_pct(s['silu_share'])} SiLU (most: {top}).")
    return {"verdict": verdict, "summary": summary, "command": COMMAND,
            "numbers": {**s, "most_used": top, "min_parameters": LARGE_VISION_PARAMETERS}}


def relu_for_vision(census=None) -> dict:
    """"ReLU = ... Great for computer vision", as a statement about what vision models use.

    Holds when ReLU is the most used activation of the census's vision models; holds in part when it
    is used by at least half as many as the most used one; fails otherwise.
    """
    census = _census(census)
    vision = [r for r in census.records if r.get("modality") == "vision"]
    s = _shares(vision)
    if not s["models"]:
        return {"verdict": "cannot be settled here", "command": COMMAND, "numbers": s,
                "summary": "The census holds no vision model."}
    top = max(s["counts"], key=s["counts"].get)
    verdict = ("holds" if top == "relu" else "holds in part" if 2 * s["relu"] >= s["counts"][top] else "fails")
    sources = Counter(r["source"] for r in vision)
    summary = (f"Of {s['models']} vision models ({', '.join(f'{n} {k}' for k, n in sources.items())}), "
               f"{_pct(s['relu_share'])} use ReLU, {_pct(s['gelu_share'])} a GELU form and "
               f"{_pct(s['silu_share'])} SiLU (most: {top}).")
    return {"verdict": verdict, "summary": summary, "command": COMMAND,
            "numbers": {**s, "most_used": top, "by_source": dict(sources)}}


def tanh_approximation_in_transformers(census=None) -> dict:
    """"[The tanh approximation] is what is used in frameworks like HuggingFace Transformers".

    Among transformers models that use a GELU form: holds when most use the tanh form, holds in part
    when some do, fails when none does.
    """
    census = _census(census)
    gelu = [r for r in census.records if r["source"] == "transformers" and r.get("activation") in gelu_forms()]
    c = Counter(r["activation"] for r in gelu)
    n = sum(c.values())
    if not n:
        return {"verdict": "cannot be settled here", "command": COMMAND, "numbers": dict(c),
                "summary": "The census holds no transformers model that uses GELU."}
    tanh = c["gelu_tanh"]
    verdict = "holds" if 2 * tanh > n else "holds in part" if tanh else "fails"
    summary = (f"Of {n} transformers models that use a GELU form, {tanh} ({_pct(tanh / n)}) use the tanh "
               f"approximation, {c['gelu']} the exact erf form and {c['quick_gelu']} the sigmoid form (quick_gelu).")
    return {"verdict": verdict, "summary": summary, "command": COMMAND,
            "numbers": {"gelu_models": n, **{k: c[k] for k in gelu_forms()}}}


#: The statements the census settles, by key: each function takes an optional census.
VERDICTS = {
    "popularity": popularity,
    "relu_king_of_large_vision": relu_king_of_large_vision,
    "relu_for_vision": relu_for_vision,
    "tanh_approximation_in_transformers": tanh_approximation_in_transformers,
}


def verdicts(census=None) -> dict[str, dict]:
    census = _census(census)
    return {key: fn(census) for key, fn in VERDICTS.items()}
