"""``gelulab report``: build every section, then write report/index.html and report.md.

Sections are built in order by the functions in ``SECTIONS``; each returns a ``Section``. Then
"The answer" (``sections_summary``) collects their highlights at the top of the page. The HTML page
is self-contained (figures and typeset formulas embedded as data URIs, no script, nothing loaded
from the network); the Markdown file has the same content and references the figures beside it.
Each section's foot gives the command that reproduces it, where its data came from and how old it
is, and the machine and library versions it ran on.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from . import sections_functions, sections_training
from .html import data_uri, markdown_to_html
from .section import ReportContext, Section, environment, environment_line
from .sections_accuracy import build as build_accuracy
from .sections_census import build as build_census
from .sections_claims import build as build_claims
from .sections_inference import build as build_inference
from .sections_properties import build as build_properties
from .sections_speed import build as build_speed
from .sections_summary import build_summary

SectionBuilder = Callable[[ReportContext], Section]

#: The report's sections, in page order.
SECTIONS: list[tuple[str, SectionBuilder]] = [
    ("Functions", sections_functions.build),
    ("Properties", build_properties),
    ("Census", build_census),
    ("Training", sections_training.build),
    ("Claims", build_claims),
    ("Accuracy", build_accuracy),
    ("Speed", build_speed),
    ("Inference", build_inference),
]


@dataclass
class ReportResult:
    """What ``build_report`` wrote: the two files, the sections of ``SECTIONS``, the summary, the time taken."""

    html_path: Path
    markdown_path: Path
    sections: list[Section]
    seconds: float
    summary: Section | None = None


def _failed_section(title: str, exc: Exception) -> Section:
    return Section(
        key=title.lower().replace(" ", "-"),
        title=title,
        markdown=f"This section could not be built: `{type(exc).__name__}: {exc}`.",
        rerun="gelulab report",
        measured=False,
        data_source="none: the section failed",
    )


def build_sections(ctx: ReportContext, show_progress: bool = True) -> list[Section]:
    """Build every section of ``SECTIONS`` in order, with a progress display (rich) on stderr.

    A section that raises becomes a section saying so; the rest of the report is still built.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    sections = []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not show_progress, transient=True) as progress:
        task = progress.add_task("report", total=len(SECTIONS))
        for title, builder in SECTIONS:
            progress.update(task, description=f"report: {title}")
            start = time.perf_counter()
            try:
                section = builder(ctx)
            except Exception as exc:  # one broken section must not lose the rest of the report
                section = _failed_section(title, exc)
            section.seconds = time.perf_counter() - start
            _place_figures(section, ctx)
            sections.append(section)
            progress.advance(task)
            mark = "[green]✓[/]" if section.measured else "[yellow]![/]"
            if show_progress:
                progress.console.print(f"{mark} {section.title:<12} {section.seconds:6.1f} s  {section.data_source}",
                                       highlight=False)
    return sections


def _place_figures(section: Section, ctx: ReportContext) -> None:
    """Figures must lie under the report folder (report.md links them): copy strays in; note missing ones."""
    placed = []
    for fig in section.figures:
        fig = Path(fig)
        if not fig.is_file():
            section.markdown += f"\n\n*(The figure `{fig.name}` was not written.)*"
            continue
        try:
            fig.resolve().relative_to(ctx.out_dir.resolve())
        except ValueError:
            fig = Path(shutil.copy2(fig, ctx.figures_dir / fig.name))
        placed.append(fig)
    section.figures = placed


def _foot_markdown(s: Section, env_line: str) -> list[str]:
    return [f"*Rerun:* `{s.rerun}`  ",
            f"*Data:* {s.data_source} · built {s.built_at} in {s.seconds:.1f} s  ",
            f"*Ran on:* {env_line}", ""]


def _markdown(summary: Section, sections: list[Section], env: dict[str, str], out_dir: Path) -> str:
    env_line = environment_line(env)
    lines = ["# GELU vs ReLU: the gelulab report", ""]
    lines.append("Every number below was computed by the command quoted under its section.")
    lines.append("")
    lines += [f"## {summary.title}", "", summary.markdown.strip(), ""]
    for s in sections:
        lines += [f"## {s.title}", "", s.markdown.strip(), ""]
        for fig in s.figures:
            rel = fig.resolve().relative_to(out_dir.resolve()).as_posix()
            lines += [f"![{fig.stem}]({rel})", ""]
        lines += _foot_markdown(s, env_line)
    lines += ["## Environment", "", "| what | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in env.items()]
    return "\n".join(lines) + "\n"


def _html_section(s: Section) -> dict[str, object]:
    return {
        "key": s.key,
        "title": s.title,
        "body": markdown_to_html(s.markdown),
        "figures": [{"src": data_uri(f), "alt": f.stem.replace("_", " ")} for f in s.figures],
        "rerun": s.rerun,
        "data_source": s.data_source,
        "built_at": s.built_at,
        "seconds": f"{s.seconds:.1f}",
        "measured": s.measured,
    }


def build_report(out_dir: str | Path = "report", quick: bool = False, show_progress: bool = True) -> ReportResult:
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = ReportContext(out_dir=out, quick=quick)
    sections = build_sections(ctx, show_progress)
    summary = build_summary(sections, quick=quick)
    env = environment()

    jinja = Environment(loader=PackageLoader("gelulab.report", "templates"), autoescape=select_autoescape())
    html = jinja.get_template("report.html.j2").render(
        summary=_html_section(summary),
        sections=[_html_section(s) for s in sections],
        environment=env,
        environment_line=environment_line(env),
        quick=quick,
        built_at=summary.built_at,
    )
    html_path = out / "index.html"
    html_path.write_text(html, encoding="utf-8")
    markdown_path = out / "report.md"
    markdown_path.write_text(_markdown(summary, sections, env, out), encoding="utf-8")
    return ReportResult(html_path, markdown_path, sections, time.perf_counter() - start, summary)
