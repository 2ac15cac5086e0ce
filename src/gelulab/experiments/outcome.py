"""What one training run returns: final metrics, learning curves and the model's size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunOutcome:
    """Final ``metrics`` (name -> value), ``curves`` (name -> [(step, value)]), parameter count."""

    metrics: dict[str, float]
    curves: dict[str, list[tuple[int, float]]]
    n_params: int
    extra: dict[str, Any] = field(default_factory=dict)
