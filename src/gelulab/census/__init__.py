"""The census: which activation real models use.

Every model architecture the installed transformers defines (and timm's, where timm imports) is
built from its default config on the meta device, and the activations inside it are counted and
mapped to registry names. ``load_or_run`` reuses a stored census of the same library versions;
``census_data`` is what ``gelulab census --json`` prints; ``VERDICTS`` settle the explainer's
statements about practice.

>>> from gelulab.census import run, examples
>>> small = run(["bert", "t5"])
>>> [(e["label"], e["activation"]) for e in examples(small) if e["activation"]]
[('BERT', 'gelu'), ('T5', 'relu')]
"""

from .checks import (
    EXAMPLES,
    VERDICTS,
    examples,
    popularity,
    relu_for_vision,
    relu_king_of_large_vision,
    tanh_approximation_in_transformers,
    verdicts,
)
from .store import Census, CensusError, census_dir, load, load_or_run, run, save
from .summary import summarise

__all__ = [
    "EXAMPLES",
    "VERDICTS",
    "Census",
    "CensusError",
    "census_data",
    "census_dir",
    "examples",
    "load",
    "load_or_run",
    "popularity",
    "relu_for_vision",
    "relu_king_of_large_vision",
    "run",
    "save",
    "summarise",
    "tanh_approximation_in_transformers",
    "verdicts",
]


def census_data(census: Census, records: bool = False) -> dict:
    """Everything ``gelulab census`` shows, as plain data: the summary, the examples, the verdicts."""
    data = {"stored": str(census.path) if census.path else None, "reused": census.reused, "note": census.note,
            "summary": summarise(census.records, census.meta), "examples": examples(census),
            "verdicts": verdicts(census)}
    if records:
        data["records"] = census.records
    return data
