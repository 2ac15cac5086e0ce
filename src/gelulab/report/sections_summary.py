"""The report's first section, "The answer": every built section's highlights, in page order.

It computes nothing and types in no conclusion: each line is a highlight that a section builder
wrote from its own numbers in this build. A section without highlights is listed with what it
covers, and a section whose data is missing or that failed says so, so the summary never reads as
more complete than the report below it.
"""

from __future__ import annotations

from .section import COMPUTED_NOW, Section

KEY = "summary"
TITLE = "The answer"


def build_summary(sections: list[Section], quick: bool = False) -> Section:
    """Collect the sections' highlights into the summary shown at the top of the page."""
    lines: list[str] = []
    without: list[str] = []
    for s in sections:
        link = f"[{s.title}](#{s.key})"
        if s.highlights:
            lines.append(f"**{link}**")
            lines.append("")
            lines += [f"- {h}" for h in s.highlights]
            if not s.measured:
                lines.append("- *(data incomplete: see the section)*")
            lines.append("")
        elif not s.measured:
            without.append(f"{link} (no measured data yet: see the section for the command that produces it)")
        else:
            without.append(link)
    if without:
        lines += ["Also in this report, without a one-line answer: " + "; ".join(without) + ".", ""]
    stored = [f"{s.title}: {s.data_source}" for s in sections if s.data_source != COMPUTED_NOW]
    if stored:
        lines += ["Reused stored results: " + "; ".join(stored) + ".", ""]
    if quick:
        lines += ["*Quick build (--quick): small samples and tiny training runs; the numbers show the pipeline "
                  "works, not the answer. Run `gelulab report` for the full report.*"]
    return Section(key=KEY, title=TITLE, markdown="\n".join(lines).strip() + "\n",
                   rerun="gelulab report" + (" --quick" if quick else ""), measured=all(s.measured for s in sections))
