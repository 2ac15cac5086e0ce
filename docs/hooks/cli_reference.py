"""MkDocs hook: the command-line reference, generated from gelulab's own argument parser.

A page holding the marker ``<!-- gelulab-cli -->`` gets, in its place, one section per verb with
the verb's description and its ``--help`` text, so the reference cannot drift from the parser.
"""

from __future__ import annotations

import argparse

MARKER = "<!-- gelulab-cli -->"


def _verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    import os

    from gelulab.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal's width: make the page the same everywhere
    parser = build_parser()
    parts = ["```text", parser.format_help().rstrip(), "```", ""]
    for verb, sub in _verbs(parser).items():
        parts += [f"## gelulab {verb}", ""]
        if sub.description:
            parts += [sub.description, ""]
        parts += ["```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - MkDocs' hook signature
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    return markdown
