"""One section of the report: Markdown text, the figures it places, and how to rerun it."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

#: What a section says about its data when it does not say otherwise: it computed everything itself.
COMPUTED_NOW = "computed in this build"


@dataclass
class ReportContext:
    """What a section builder gets: where to put figures, how big a run to do, and what the
    sections of one build share (``shared``: the training sweep, made once by whichever asks first)."""

    out_dir: Path
    quick: bool
    shared: dict = field(default_factory=dict, compare=False, repr=False)

    def training_runs(self):
        """The report's training store with its sweep trained (:func:`gelulab.claims.training.report_runs`),
        once per build: the Training and the Claims sections both ask, in either order."""
        if "training_runs" not in self.shared:
            from ..claims.training import report_runs

            self.shared["training_runs"] = report_runs(self.quick, self.out_dir)
        return self.shared["training_runs"]

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

    ``highlights`` are the section's answer in one line each (Markdown, with the numbers), shown
    at the top of the report under "The answer"; a section with nothing to conclude leaves it empty.

    ``data_source`` says where the numbers come from and how old they are, e.g.
    ``"stored results/accuracy/gelu-d0-float32.json, 3.2 h old; the rest computed in this build"``
    (``age_text`` words the age). A section that reuses stored results must set it; the default
    says everything was computed while building this report.
    """

    key: str
    title: str
    markdown: str
    rerun: str
    figures: list[Path] = field(default_factory=list)
    measured: bool = True
    built_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    seconds: float = 0.0
    highlights: list[str] = field(default_factory=list)
    data_source: str = COMPUTED_NOW


def age_text(then: datetime, now: datetime | None = None) -> str:
    """How old a stored result is, in words: "12 s old", "5 min old", "3.2 h old", "4 days old".

    ``then`` may be naive (taken as UTC) or aware.
    """
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - then).total_seconds()
    if seconds < 0:
        return "from the future (clock skew)"
    if seconds < 60:
        return f"{seconds:.0f} s old"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min old"
    hours = seconds / 3600
    return f"{hours:.1f} h old" if hours < 48 else f"{hours / 24:.0f} days old"


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
        if torch.cuda.is_available():  # the speed section measures the GPU only where there is one
            versions["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:  # torch is optional for the NumPy-only sections
        pass
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


def environment_line(env: dict[str, str]) -> str:
    """The environment in one line, for the foot of each section: machine first, then versions."""
    where = ", ".join(env[k] for k in ("machine", "cpu") if k in env)
    versions = ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("machine", "cpu"))
    return f"{where}; {versions}" if where else versions
