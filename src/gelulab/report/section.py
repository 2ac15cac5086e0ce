"""One section of the report: Markdown text, the figures it places, and how to rerun it."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class ReportContext:
    """What a section builder gets: where to put figures, and how big a run to do."""

    out_dir: Path
    quick: bool

    @property
    def figures_dir(self) -> Path:
        path = self.out_dir / "figures"
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Section:
    """A built section. ``markdown`` is the body (no heading); figures are paths under out_dir.

    ``measured`` is False when the data behind the section is missing: the body then says so
    and what command produces it, and no placeholder is shown as a result.
    """

    key: str
    title: str
    markdown: str
    rerun: str
    figures: list[Path] = field(default_factory=list)
    measured: bool = True
    built_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    seconds: float = 0.0


def environment() -> dict[str, str]:
    """Library versions and the machine, printed under every report."""
    import matplotlib
    import mpmath
    import numpy
    import scipy

    from .. import __version__

    versions = {
        "gelulab": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "mpmath": mpmath.__version__,
        "matplotlib": matplotlib.__version__,
    }
    try:
        import torch

        versions["torch"] = torch.__version__
    except ImportError:  # torch is optional for the NumPy-only sections
        pass
    import os

    versions["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    cpu = _cpu_model()
    if cpu:
        versions["cpu"] = cpu
    return versions


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None
