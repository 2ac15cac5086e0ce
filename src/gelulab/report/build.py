"""``gelulab report``: build every section, then write report/index.html and report.md.

Sections are built in order by the functions in ``SECTIONS``; each returns a ``Section``.
The HTML page is self-contained (figures embedded as data URIs, no network); the Markdown file
references the same figures as files beside it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt

from . import sections_functions
from .section import ReportContext, Section, environment
from .sections_accuracy import build as build_accuracy
from .sections_claims import build as build_claims
from .sections_properties import build as build_properties

SectionBuilder = Callable[[ReportContext], Section]

#: The report's sections, in page order.
SECTIONS: list[tuple[str, SectionBuilder]] = [
    ("Functions", sections_functions.build),
    ("Properties", build_properties),
    ("Claims", build_claims),
    ("Accuracy", build_accuracy),
]


@dataclass
class ReportResult:
    html_path: Path
    markdown_path: Path
    sections: list[Section]
    seconds: float


def _failed_section(title: str, exc: Exception) -> Section:
    return Section(
        key=title.lower().replace(" ", "-"),
        title=title,
        markdown=f"This section could not be built: `{type(exc).__name__}: {exc}`.",
        rerun="gelulab report",
        measured=False,
    )


def build_sections(ctx: ReportContext, show_progress: bool = True) -> list[Section]:
    from rich.progress import Progress

    sections = []
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("report", total=len(SECTIONS))
        for title, builder in SECTIONS:
            progress.update(task, description=f"report: {title}")
            start = time.perf_counter()
            try:
                section = builder(ctx)
            except Exception as exc:  # one broken section must not lose the rest of the report
                section = _failed_section(title, exc)
            section.seconds = time.perf_counter() - start
            sections.append(section)
            progress.advance(task)
    return sections


def _data_uri(path: Path) -> str:
    mime = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _markdown(sections: list[Section], env: dict[str, str], out_dir: Path) -> str:
    lines = ["# GELU vs ReLU: the gelulab report", ""]
    lines.append("Every number below was computed by the command quoted under its section.")
    lines.append("")
    for s in sections:
        lines += [f"## {s.title}", "", s.markdown.strip(), ""]
        for fig in s.figures:
            rel = fig.relative_to(out_dir).as_posix()
            lines += [f"![{fig.stem}]({rel})", ""]
        lines += [f"*Rerun:* `{s.rerun}` · built {s.built_at} in {s.seconds:.1f} s", ""]
    lines += ["## Environment", "", "| what | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in env.items()]
    return "\n".join(lines) + "\n"


def build_report(out_dir: str | Path = "report", quick: bool = False, show_progress: bool = True) -> ReportResult:
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = ReportContext(out_dir=out, quick=quick)
    sections = build_sections(ctx, show_progress)
    env = environment()

    md = MarkdownIt("commonmark").enable("table")
    jinja = Environment(loader=PackageLoader("gelulab.report", "templates"), autoescape=select_autoescape())
    html = jinja.get_template("report.html.j2").render(
        sections=[
            {
                "key": s.key,
                "title": s.title,
                "body": md.render(s.markdown),
                "figures": [{"src": _data_uri(f), "alt": f.stem.replace("_", " ")} for f in s.figures],
                "rerun": s.rerun,
                "built_at": s.built_at,
                "seconds": f"{s.seconds:.1f}",
                "measured": s.measured,
            }
            for s in sections
        ],
        environment=env,
        quick=quick,
    )
    html_path = out / "index.html"
    html_path.write_text(html, encoding="utf-8")
    markdown_path = out / "report.md"
    markdown_path.write_text(_markdown(sections, env, out), encoding="utf-8")
    return ReportResult(html_path, markdown_path, sections, time.perf_counter() - start)
