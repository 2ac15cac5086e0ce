"""The embedded default sweep (what ``gelulab report`` runs) and its quick version for tests.

Default: 5 seeds x {relu, gelu, gelu_tanh, silu, geglu, swiglu} on ``lm`` and 5 seeds x
{relu, gelu, silu} on ``digits`` (CNN), ``mnist1d`` (CNN) and ``mnist1d`` (MLP, the paper's 6 000 steps).
Sized to finish in under 6 minutes on 2 cores with 2 worker processes of one thread each.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .sweep import PlannedRun, plan_sweep

LM_ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "silu", "geglu", "swiglu")
VISION_ACTIVATIONS = ("relu", "gelu", "silu")
DEFAULT_SEEDS = 5
DEFAULT_WORKERS = 2
#: Settings with a flag of their own on the command line; the others go through --set KEY=VALUE.
FLAG_SETTINGS = ("steps", "lr", "batch_size", "model", "corpus")


@dataclass(frozen=True)
class SweepSpec:
    task: str
    activations: tuple[str, ...]
    seeds: int
    overrides: dict[str, Any] = field(default_factory=dict)

    def plan(self) -> list[PlannedRun]:
        return plan_sweep([self.task], self.activations, range(self.seeds), self.overrides)

    def command(self, store: str | None = None, workers: int = DEFAULT_WORKERS) -> str:
        """The ``gelulab sweep`` command line that runs (or resumes) exactly this sweep."""
        parts = ["gelulab", "sweep", "--task", self.task, "--activations", ",".join(self.activations),
                 "--seeds", str(self.seeds)]
        for key, value in sorted(self.overrides.items()):
            if key in FLAG_SETTINGS:
                parts += [f"--{key.replace('_', '-')}", str(value)]
            else:
                parts += ["--set", f"{key}={value}"]
        if workers != 1:
            parts += ["--workers", str(workers)]
        if store:
            parts += ["--store", store]
        return shlex.join(parts)


DEFAULT_SWEEP: tuple[SweepSpec, ...] = (
    SweepSpec("lm", LM_ACTIVATIONS, DEFAULT_SEEDS),
    SweepSpec("digits", VISION_ACTIVATIONS, DEFAULT_SEEDS),
    SweepSpec("mnist1d", VISION_ACTIVATIONS, DEFAULT_SEEDS, {"model": "cnn"}),
    SweepSpec("mnist1d", VISION_ACTIVATIONS, DEFAULT_SEEDS, {"model": "mlp", "steps": 6000}),
)

#: Seconds, not minutes: a few steps on tiny models, 2 seeds (the fewest a paired test takes), for tests.
QUICK_SWEEP: tuple[SweepSpec, ...] = (
    SweepSpec("lm", ("relu", "gelu", "geglu"), 2,
              {"steps": 10, "n_layer": 1, "n_embd": 32, "d_ff": 96, "block_size": 32, "batch_size": 8,
               "eval_every": 5, "warmup": 3}),
    SweepSpec("digits", ("relu", "gelu", "silu"), 2, {"steps": 20, "eval_every": 5}),
    SweepSpec("mnist1d", ("relu", "gelu", "silu"), 2, {"model": "mlp", "steps": 20, "eval_every": 5}),
)


def plan_of(specs: Sequence[SweepSpec]) -> list[PlannedRun]:
    return [run for spec in specs for run in spec.plan()]
