"""Counts of the census: each activation's share overall, by modality, by model size; the gated share.

Every model counts once, under its activation (``record["activation"]``: what the built model's
modules say, else its config fields), with registry names, so aliases are folded (``gelu_new`` and
``gelu_pytorch_tanh`` are both ``gelu_tanh``). The configs' own spellings are counted beside them.
A model that uses no registry activation counts as ``other: <what it uses>``; one where nothing
was found, as ``not found``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

NOT_FOUND = "not found"
NOT_BUILT = "not built"

#: Upper bounds (parameters of the default config) and labels of the size buckets.
SIZE_BUCKETS: tuple[tuple[float, str], ...] = ((1e8, "<100M"), (1e9, "100M-1B"), (1e10, "1B-10B"),
                                               (math.inf, ">=10B"))


def size_bucket(parameters: int | None) -> str:
    if parameters is None:
        return NOT_BUILT
    return next(label for bound, label in SIZE_BUCKETS if parameters < bound)


def size_labels() -> list[str]:
    return [label for _, label in SIZE_BUCKETS] + [NOT_BUILT]


def label(record: dict) -> str:
    """The name a model is counted under."""
    if record.get("activation"):
        return record["activation"]
    if record.get("activation_other"):
        return f"other: {record['activation_other']}"
    return NOT_FOUND


def counts(records: Iterable[dict]) -> Counter:
    return Counter(label(r) for r in records)


def grouped(records: Iterable[dict], key) -> dict[str, Counter]:
    """group -> Counter of labels, for ``key(record) -> group``."""
    out: dict[str, Counter] = {}
    for r in records:
        out.setdefault(key(r), Counter())[label(r)] += 1
    return out


def top_level_fields(records: Iterable[dict]) -> dict:
    """What the configs' top-level activation fields say, before any model is built.

    Returns ``{"by_activation": {registry name: {"count": n, "values": {spelling: n}}}, "not found": n}``;
    the first field present counts (a config rarely has two). Values that are no registry activation
    count under ``other: <value>``.
    """
    by: dict[str, dict] = {}
    missing = 0
    for r in records:
        if r.get("source") != "transformers":
            continue
        top = next((f for f in r.get("fields", []) if "." not in f["path"]), None)
        if top is None:
            missing += 1
            continue
        name = top["activation"] or f"other: {top['value']}"
        entry = by.setdefault(name, {"count": 0, "values": Counter()})
        entry["count"] += 1
        entry["values"][top["value"]] += 1
    ordered = sorted(by.items(), key=lambda kv: -kv[1]["count"])
    return {"by_activation": {k: {"count": v["count"], "values": dict(v["values"].most_common())} for k, v in ordered},
            NOT_FOUND: missing}


def gated_share(records: Iterable[dict]) -> dict:
    """How many models run their activation in gated blocks (GEGLU, SwiGLU...), overall and per activation."""
    records = list(records)
    flags = Counter({True: 0, False: 0, None: 0})
    flags.update(r.get("gated") for r in records)
    per: dict[str, Counter] = {}
    for r in records:
        if r.get("activation") and r.get("gated") is not None:
            per.setdefault(r["activation"], Counter())[bool(r["gated"])] += 1
    known = flags[True] + flags[False]
    return {"gated": flags[True], "not_gated": flags[False], "unknown": flags[None],
            "share_of_known": flags[True] / known if known else None,
            "by_activation": {k: {"gated": c[True], "of": c[True] + c[False]}
                              for k, c in sorted(per.items(), key=lambda kv: -sum(kv[1].values()))}}


def field_vs_modules(records: Iterable[dict]) -> dict:
    """Models whose built modules say another activation than their top-level config field."""
    disagree = []
    agree = 0
    for r in records:
        top = next((f["activation"] for f in r.get("fields", []) if "." not in f["path"] and f["activation"]), None)
        if top is None or r.get("activation_from") != "modules":
            continue
        if top == r["activation"]:
            agree += 1
        else:
            disagree.append({"model": r["model_type"], "field": top, "modules": r["activation"],
                             "counts": r.get("modules", {})})
    return {"agree": agree, "disagree": len(disagree), "examples": disagree}


def failures(records: Iterable[dict]) -> dict:
    """Configs that did not instantiate or models that did not build, by the kind of error."""
    kinds: Counter = Counter()
    examples: dict[str, str] = {}
    for r in records:
        if r.get("error"):
            kind = r["error"].split(":", 2)
            key = ":".join(kind[:2]).strip()
            kinds[key] += 1
            examples.setdefault(key, f"{r['model_type']}: {r['error']}")
    return {"count": sum(kinds.values()), "by_kind": dict(kinds.most_common()), "examples": examples}


def summarise(records: list[dict], meta: dict) -> dict:
    """Everything the census verb and the report show, as plain data (JSON-ready)."""
    from .transformers_models import MODALITIES

    by_modality = grouped(records, lambda r: r.get("modality", "other"))
    by_size = grouped(records, lambda r: size_bucket(r.get("parameters")))
    return {
        "versions": {k: meta.get(k) for k in ("transformers", "timm", "torch")},
        "timm": {"censused": meta.get("timm") is not None, "why_not": meta.get("timm_missing"),
                 "models": sum(1 for r in records if r["source"] == "timm")},
        "created": meta.get("created"),
        "seconds": meta.get("seconds"),
        "complete": meta.get("complete"),
        "models": len(records),
        "by_source": {s: dict(counts(r for r in records if r["source"] == s).most_common())
                      for s in dict.fromkeys(r["source"] for r in records)},
        "built": sum(1 for r in records if r.get("parameters") is not None),
        "parts_of_composites": sum(1 for r in records if r.get("part_of")),
        "activation_from": dict(Counter(r.get("activation_from") for r in records).most_common()),
        "activations": dict(counts(records).most_common()),
        "top_level_fields": top_level_fields(records),
        "by_modality": {m: dict(by_modality[m].most_common()) for m in MODALITIES if m in by_modality},
        "by_size": {b: dict(by_size[b].most_common()) for b in size_labels() if b in by_size},
        "gated": gated_share(records),
        "field_vs_modules": field_vs_modules(records),
        "failures": failures(records),
    }


def legend_order(summary: dict, min_share: float = 0.01) -> list[str]:
    """Activations in order of their count; those under ``min_share`` of the models are left to "other"."""
    total = summary["models"] or 1
    return [k for k, v in summary["activations"].items() if v / total >= min_share and not k.startswith("other")
            and k != NOT_FOUND]


def collapse(counter: dict[str, int], keep: list[str]) -> dict[str, int]:
    """``counter`` with every name not in ``keep`` summed under "other" (and ``not found`` kept apart)."""
    out = {k: counter.get(k, 0) for k in keep}
    out["other"] = sum(v for k, v in counter.items() if k not in keep and k != NOT_FOUND)
    out[NOT_FOUND] = counter.get(NOT_FOUND, 0)
    return out
