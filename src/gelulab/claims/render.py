"""The claims in the terminal: one rich table of statements, verdicts and evidence."""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis.explainer import repair_encoding
from .catalog import ClaimResult

VERDICT_STYLE = {"holds": "green", "fails": "bold red", "holds in part": "yellow", "cannot be settled here": "dim"}


def print_claims(results: Sequence[ClaimResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="the explainer's claims, checked", show_lines=True)
    for col in ("key", "claim (quoted)", "kind", "verdict", "evidence", "command"):
        table.add_column(col, overflow="fold")
    for r in results:
        style = VERDICT_STYLE.get(r.verdict, "")
        table.add_row(r.claim.key, repair_encoding(r.claim.quote), r.claim.kind, f"[{style}]{r.verdict}[/]",
                      r.evidence.summary, r.evidence.command)
    console = Console(width=max(160, Console().width))
    console.print(table)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    console.print(", ".join(f"{v}: {n}" for v, n in counts.items()))
