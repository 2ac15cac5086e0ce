"""The explainer whose statements gelulab checks, read from package data.

``explainer.md`` beside this module is a verbatim copy of the explainer as the user gave it
(its odd characters, mis-decoded emoji, included), so the claims quote it exactly and the
report works from an installed package. Its Markdown tables are parsed here at run time;
``quote`` refuses any text that is not in the file, so a claim can never misquote it.

The file's odd characters are UTF-8 that was once decoded as Mac Roman ("‚úÖ" is the three bytes
of ✅ read that way). Claims match the original text; what is *shown* goes through
``repair_encoding``, which reverses that decoding wherever it gives valid UTF-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


@cache
def explainer_text() -> str:
    return resources.files("gelulab.analysis").joinpath("explainer.md").read_text(encoding="utf-8")


def repair_encoding(text: str) -> str:
    """``text`` with every run of non-ASCII characters that is UTF-8 read as Mac Roman decoded again
    ("‚úÖ Faster" -> "✅ Faster", "‚Üí" -> "→"); runs that are not (a real "é", "Φ") stay as they are."""

    def fix(m: re.Match[str]) -> str:
        run = m.group(0)
        try:
            return run.encode("mac_roman").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return run

    return _NON_ASCII_RUN.sub(fix, text)


class QuoteError(LookupError):
    """A claim quotes text that the explainer does not contain."""


def quote(fragment: str) -> str:
    """The full line of the explainer holding ``fragment`` (stripped), or QuoteError."""
    lines = [ln.strip() for ln in explainer_text().splitlines() if fragment in ln]
    if not lines:
        raise QuoteError(f"the explainer has no line containing {fragment!r}")
    return lines[0]


@dataclass(frozen=True)
class Table:
    """A Markdown table of the explainer, under the heading it follows."""

    heading: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[str, ...]  # each row's source line, verbatim

    def row(self, first_cell: str) -> tuple[str, ...]:
        for r in self.rows:
            if r[0] == first_cell:
                return r
        raise KeyError(f"table {self.heading!r} has no row {first_cell!r}")

    def line(self, first_cell: str) -> str:
        for r, ln in zip(self.rows, self.lines, strict=True):
            if r[0] == first_cell:
                return ln
        raise KeyError(f"table {self.heading!r} has no row {first_cell!r}")


def _cells(line: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in line.strip().strip("|").split("|"))


def _is_rule(line: str) -> bool:
    return set(line.replace("|", "").strip()) <= set(":- ") and "-" in line


@cache
def tables() -> tuple[Table, ...]:
    """Every table in the explainer, in order."""
    out, heading = [], ""
    lines = explainer_text().splitlines()
    i = 0
    while i < len(lines):
        ln = lines[i].strip()
        if ln.startswith("#"):
            heading = ln.lstrip("#").strip()
        if ln.startswith("|") and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            header = _cells(ln)
            rows, srcs = [], []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i]))
                srcs.append(lines[i].strip())
                i += 1
            out.append(Table(heading, header, tuple(rows), tuple(srcs)))
            continue
        i += 1
    return tuple(out)


def table_with(heading_word: str) -> Table:
    """The table whose heading contains ``heading_word`` (case-insensitive)."""
    for t in tables():
        if heading_word.lower() in t.heading.lower():
            return t
    raise KeyError(f"the explainer has no table under a heading with {heading_word!r}")


def properties_table() -> Table:
    """The explainer's "Quick Mathematical Properties" table (Property | GELU | ReLU)."""
    return table_with("Mathematical Properties")
