"""The census as tables: rich for the terminal, Markdown for the report, from the same rows."""

from __future__ import annotations

from .summary import NOT_FOUND, collapse, legend_order

VERDICT_STYLE = {"holds": "green", "fails": "bold red", "holds in part": "yellow", "cannot be settled here": "dim"}


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f} %" if total else "-"


def _params(n: int | None) -> str:
    if n is None:
        return "not built"
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def activation_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """Per activation: models, share, gated, and what the top-level config fields say (with their spellings)."""
    total = summary["models"]
    fields = summary["top_level_fields"]["by_activation"]
    gated = summary["gated"]["by_activation"]
    header = ["activation", "models", "share", "gated (of known)", "top-level config field (spellings)"]
    rows = []
    for name, n in summary["activations"].items():
        g = gated.get(name)
        f = fields.get(name)
        spellings = f"{f['count']} (" + ", ".join(f"{v} {c}" for v, c in f["values"].items()) + ")" if f else "0"
        rows.append([name, str(n), _pct(n, total), f"{g['gated']} of {g['of']}" if g else "-", spellings])
    for name, f in fields.items():  # a field value that no built model ended up counted under
        if name not in summary["activations"]:
            rows.append([name, "0", "-", "-", f"{f['count']} (" + ", ".join(f"{v} {c}" for v, c in f["values"].items())
                         + ")"])
    rows.append(["(no top-level field)", "", "", "", str(summary["top_level_fields"][NOT_FOUND])])
    return header, rows


def group_rows(summary: dict, key: str) -> tuple[list[str], list[list[str]]]:
    """Activations (rows) by modality or size bucket (columns): count and share of the column."""
    groups = summary[key]
    keep = legend_order(summary)
    collapsed = {g: collapse(c, keep) for g, c in groups.items()}
    totals = {g: sum(c.values()) for g, c in collapsed.items()}
    header = ["activation", *(f"{g} (n={totals[g]})" for g in groups)]
    rows = []
    for name in [*keep, "other", NOT_FOUND]:
        cells = [f"{collapsed[g][name]} ({_pct(collapsed[g][name], totals[g])})" for g in groups]
        if any(collapsed[g][name] for g in groups):
            rows.append([name, *cells])
    return header, rows


def example_rows(examples: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["model", "census name", "the explainer says", "default config uses", "gated", "parameters",
              "evidence", "as the explainer says?"]
    rows = []
    for e in examples:
        if e["activation"] is None:
            rows.append([e["label"], _census_name(e), e["explainer_says"], "not censused here", "-", "-", "-",
                         "cannot be checked here"])
            continue
        rows.append([e["label"], _census_name(e), e["explainer_says"], e["activation"],
                     {True: "yes", False: "no", None: "-"}[e["gated"]], _params(e["parameters"]),
                     e["evidence"] or "-", "yes" if e["agrees"] else "no"])
    return header, rows


def _census_name(example: dict) -> str:
    return example["model"] if example["source"] == "transformers" else f"{example['source']}: {example['model']}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def source_line(data: dict) -> str:
    """Where the census came from, its versions and timm's state, in one or two sentences."""
    s = data["summary"]
    v = s["versions"]
    what = f"{s['models']} model definitions of transformers {v['transformers']}"
    if s["timm"]["censused"]:
        what += f" and timm {v['timm']} ({s['timm']['models']} of them timm's)"
    where = (f"stored {data['stored']}, taken {s['created']}" if data.get("reused") else
             f"computed now in {s['seconds']} s" + (f", stored in {data['stored']}" if data.get("stored") else ""))
    text = f"Census of {what} ({where}); {s['built']} built on the meta device."
    if not s["timm"]["censused"]:
        text += f" timm's models are not in it: {s['timm']['why_not'] or 'timm was not asked for'}."
    if not s.get("complete"):
        text += " A subset of the models only."
    return text


def print_census(data: dict) -> None:
    """The terminal view of ``gelulab census``."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(110, Console().width))
    s = data["summary"]
    console.print(source_line(data), highlight=False)

    def show(title: str, header: list[str], rows: list[list[str]]) -> None:
        table = Table(title=title, title_justify="left")
        for h in header:
            table.add_column(h, overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)

    show("Activation of each model (modules of the built model, else its config fields)", *activation_rows(s))
    show("By modality", *group_rows(s, "by_modality"))
    show("By parameters of the default config", *group_rows(s, "by_size"))
    show("The explainer's examples", *example_rows(data["examples"]))
    g = s["gated"]
    fm = s["field_vs_modules"]
    console.print(f"Gated (GEGLU, SwiGLU...): {g['gated']} models, not gated {g['not_gated']}, unknown {g['unknown']}. "
                  f"Config field and built modules disagree for {fm['disagree']} of "
                  f"{fm['agree'] + fm['disagree']} models; {s['failures']['count']} configs or models did not build "
                  "(their config fields still count).", highlight=False)
    for key, v in data["verdicts"].items():
        style = VERDICT_STYLE.get(v["verdict"], "")
        console.print(f"[{style}]{v['verdict']}[/] {key}: {v['summary']}", highlight=False)
