"""Report section: every statement of the explainer, its verdict and the evidence."""

from __future__ import annotations

from ..analysis.explainer import repair_encoding
from ..analysis.plots import plot_speed
from ..claims import check_claims
from .section import COMPUTED_NOW, ReportContext, Section

_MARK = {"holds": "✓ holds", "fails": "✗ **fails**", "holds in part": "◐ holds in part",
         "cannot be settled here": "? cannot be settled here"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _training_store(ctx: ReportContext):
    """The store the training verdicts read: the report's sweep, trained now if no section did yet."""
    try:
        return ctx.training_runs().store_path
    except ImportError:  # the training stack (torch) is missing: the verdicts say so
        return None


def build(ctx: ReportContext) -> Section:
    results = check_claims(quick=ctx.quick, store_path=_training_store(ctx))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    rows = ["| # | the explainer says | kind | verdict | evidence | rerun |",
            "|---|---|---|---|---|---|"]
    sources = sorted({str(r.evidence.numbers["source"]) for r in results if "source" in r.evidence.numbers})
    for i, r in enumerate(results, 1):
        rows.append(f"| {i} | `{_cell(repair_encoding(r.claim.quote))}` | {r.claim.kind} | {_MARK[r.verdict]} | "
                    f"{_cell(r.evidence.summary)} | `{_cell(r.evidence.command)}` |")
    speed = next((r for r in results if r.claim.key == "tanh_faster"), None)
    figures = []
    if speed is not None:
        figures.append(plot_speed(speed.evidence.numbers["ns_per_element"], ctx.figures_dir / "claims_speed.png",
                                  title="CPU ns/element measured for the speed claims"))
    text = [
        f"{len(results)} statements of the explainer, quoted verbatim (its encoding damage repaired: its emoji and "
        "arrows were UTF-8 read as Mac Roman), each with "
        "the evidence that settles it: a computed property, a measurement made in this run, or training runs. "
        "Verdicts: " + ", ".join(f"{v} {n}" for v, n in counts.items()) + ".",
        "",
        *rows,
        "",
        "Claims of the *training* kind are settled by the experiments (`gelulab sweep`) once their results exist "
        "(read from the results store: " + ("; ".join(sources) if sources else "no stored runs yet") + "); "
        "until then they say so. Properties and measurements are computed in this build. The figures of the "
        "Properties section show the minimum that refutes "
        "\"Monotonic: Yes\" and the approximation errors; below, the timings behind the speed claims.",
    ]
    text += ["", *_literature_table(results)]
    data = COMPUTED_NOW + ("; training verdicts from " + "; ".join(sources) if sources else "")
    if any(r.claim.kind == "literature" for r in results):
        data += "; published results from gelulab/claims/literature.json (quoted, not computed)"
    return Section(key="claims", title="Claims", markdown="\n".join(text),
                   rerun="gelulab claims" + (" --quick" if ctx.quick else ""), figures=figures,
                   highlights=_highlights(results, counts), data_source=data)


def _literature_table(results: list) -> list[str]:
    """The published results behind the claims of the *literature* kind, apart from what was computed."""
    from ..claims import literature

    if not any(r.claim.kind == "literature" for r in results):
        return []
    lines = ["**Published results** (not computed here; verdicts drawn from them say \"per the literature\"):", "",
             "| model | what the paper reports | as printed | source |", "|---|---|---|---|"]
    for row in literature.rows():
        if row["compares"]:
            printed = "; ".join(f"{point}: " + ", ".join(f"{a} {v}" for a, v in values.items())
                                for point, values in row["checkpoints"].items())
            printed = f"{row['metric']}: {printed}"
        else:
            printed = f"“{row['as_printed']}”" if row.get("as_printed") else "—"
        lines.append(f"| {_cell(row['model'])} | {_cell(row['note'])} | {_cell(printed)} | "
                     f"{_cell(literature.source(row))} |")
    return lines


def _highlights(results: list, counts: dict[str, int]) -> list[str]:
    """The verdict counts, every statement that fails with its evidence (shortened), those that hold in part."""
    lines = [f"Of {len(results)} statements of the explainer: " + ", ".join(f"{n} {v}" for v, n in counts.items())
             + "."]
    by_evidence: dict[str, list[str]] = {}  # statements refuted by the same evidence share one line
    for r in (r for r in results if r.verdict == "fails"):
        by_evidence.setdefault(r.evidence.summary, []).append(f"`{_quote(r.claim.quote)}`")
    for summary, quotes in by_evidence.items():
        lines.append(f"{_MARK['fails']}: {', '.join(quotes)} — {_shorten(summary)}")
    partly = [f"`{_quote(r.claim.quote)}`" for r in results if r.verdict == "holds in part"]
    if partly:
        lines.append(f"{_MARK['holds in part']} (details in the table below): " + ", ".join(partly) + ".")
    return lines


def _quote(text: str, limit: int = 70) -> str:
    return _shorten(repair_encoding(text).replace("`", "'"), limit)


def _shorten(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
