"""Markdown to self-contained HTML for the report: formulas as images, figures as data URIs.

The page must work opened from disk with no network, so nothing is loaded from outside it:
figures are embedded as ``data:`` URIs, and inline LaTeX (``$...$`` in a section's Markdown) is
typeset offline by matplotlib's mathtext into an SVG image, also embedded. mathtext knows a subset
of LaTeX; ``to_mathtext`` rewrites the few constructs the registry's formulas use that it lacks
(``\\tfrac``, ``cases``, ``\\le``). A formula mathtext still cannot parse is shown as its LaTeX source
in a ``<code>`` span, never dropped.
"""

from __future__ import annotations

import base64
import functools
import io
import re
from pathlib import Path

from markdown_it import MarkdownIt

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}

#: ``$...$`` inline math as pandoc reads it: no space just inside the dollars, no digit right after
#: the closing one (so "costs $5 and $6" is not math). ``\$`` is a literal dollar.
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?=\S)((?:[^$\n\\]|\\.)+?)(?<=\S)\$(?!\d)")
_CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")
_CASES = re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.S)


def data_uri(path: Path) -> str:
    """The file as a ``data:`` URI (base64), so the page needs nothing beside it."""
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _cases_to_mathtext(match: re.Match[str]) -> str:
    rows = [r.strip() for r in match.group(1).split(r"\\") if r.strip()]
    parts = []
    for row in rows:
        value, _, condition = row.partition("&")
        parts.append(rf"{value.strip()}\ \mathrm{{if}}\ {condition.strip()}" if condition else value.strip())
    return r"\left\{ " + r";\quad ".join(parts) + r" \right."


def to_mathtext(latex: str) -> str:
    """Rewrite LaTeX that matplotlib's mathtext cannot parse into an equivalent it can."""
    text = _CASES.sub(_cases_to_mathtext, latex)
    text = text.replace(r"\tfrac", r"\frac").replace(r"\dfrac", r"\frac")
    text = re.sub(r"\\le(?![a-zA-Z])", r"\\leq", text)
    return re.sub(r"\\ge(?![a-zA-Z])", r"\\geq", text)


@functools.lru_cache(maxsize=256)
def formula_image(latex: str, fontsize: float = 12.0) -> str | None:
    """The formula typeset by mathtext as an SVG data URI, or None when mathtext cannot parse it."""
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import math_to_image

    buf = io.BytesIO()
    try:
        with matplotlib.rc_context({"savefig.transparent": True, "svg.fonttype": "path"}):  # glyphs as paths: no font
            math_to_image(f"${to_mathtext(latex)}$", buf, prop=FontProperties(size=fontsize), dpi=72, format="svg")
    except ValueError:  # mathtext's ParseFatalException/ParseSyntaxException derive from it
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _math_html(latex: str) -> str:
    src = formula_image(latex)
    if src is None:
        return f'<code class="latex">{_escape(latex)}</code>'
    return f'<img class="math" src="{src}" alt="{_escape(latex)}">'


def _replace_math(markdown: str, found: list[str]) -> str:
    """Swap inline math for placeholders outside code spans; ``found`` collects the LaTeX in order."""

    def swap(match: re.Match[str]) -> str:
        # inside a Markdown table a literal | is written \| ; the formula wants the bare |
        found.append(match.group(1).replace(r"\|", "|"))
        return f"GELULABMATH{len(found) - 1}X"

    out, last = [], 0
    for code in _CODE_SPAN.finditer(markdown):
        out.append(_INLINE_MATH.sub(swap, markdown[last:code.start()]))
        out.append(code.group(0))
        last = code.end()
    out.append(_INLINE_MATH.sub(swap, markdown[last:]))
    return "".join(out)


_MD = MarkdownIt("commonmark").enable("table")


#: A table cell that contains the cross mark: a disagreement or a failed claim, tinted on the page.
_CROSSED_CELL = re.compile(r"<td([^>]*)>((?:(?!</td>).)*✗)", re.S)


def markdown_to_html(markdown: str) -> str:
    """CommonMark + tables to HTML, with typeset formulas and tables that scroll instead of overflowing.

    Table cells holding ✗ (the report's mark for "disagrees" or "fails") get ``class="disagree"``.
    """
    formulas: list[str] = []
    html = _MD.render(_replace_math(markdown, formulas))
    html = re.sub(r"GELULABMATH(\d+)X", lambda m: _math_html(formulas[int(m.group(1))]), html)
    html = _CROSSED_CELL.sub(lambda m: f'<td{m.group(1)} class="disagree">{m.group(2)}', html)
    return html.replace("<table>", '<div class="table-wrap"><table>').replace("</table>", "</table></div>")
