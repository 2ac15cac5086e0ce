"""Published results, as their own kind of evidence: what papers *reported* about GELU and ReLU.

Some of the explainer's statements are about the literature ("**Better performance** reported in large
pretraining setups (BERT, GPT, RoBERTa)"). They are judged against a small table of published results
(``literature.json`` beside this module): each row names its paper, where in it (table or section),
and the numbers or sentence as printed. Nothing here is computed by gelulab; verdicts drawn from it are
marked "per the literature" and the report shows the rows apart from what gelulab computed.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LITERATURE_PATH = Path(__file__).with_name("literature.json")
FORMAT = "gelulab-literature/1"
PER_THE_LITERATURE = "per the literature"
REQUIRED = ("key", "model", "paper", "where", "kind", "compares", "note")


@cache
def rows() -> tuple[dict[str, Any], ...]:
    data = json.loads(LITERATURE_PATH.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{LITERATURE_PATH}: not a gelulab literature table (format {data.get('format')!r})")
    for row in data["rows"]:
        missing = [k for k in REQUIRED if row.get(k) in (None, "")]
        if missing:
            raise ValueError(f"{LITERATURE_PATH}: row {row.get('key')!r} lacks {', '.join(missing)}")
    return tuple(data["rows"])


def row(key: str) -> dict[str, Any]:
    for r in rows():
        if r["key"] == key:
            return r
    raise KeyError(f"no literature row {key!r}")


def source(r: dict[str, Any]) -> str:
    """'Paper (arXiv:id), where' for a row."""
    arxiv = f" (arXiv:{r['arxiv']})" if r.get("arxiv") else ""
    return f"{r['paper']}{arxiv}, {r['where']}"


def better(r: dict[str, Any], a: str, b: str) -> dict[str, bool]:
    """Per checkpoint of a comparison row: whether ``a`` did better than ``b`` (as printed)."""
    out = {}
    for point, values in r["checkpoints"].items():
        va, vb = float(values[a]), float(values[b])
        out[point] = va < vb if r["lower_is_better"] else va > vb
    return out


def comparison_sentence(r: dict[str, Any], a: str, b: str) -> str:
    parts = [f"{a} {v[a]} vs {b} {v[b]} at {point}" for point, v in r["checkpoints"].items()]
    return f"{r['model']} ({r['metric']}): " + ", ".join(parts)
