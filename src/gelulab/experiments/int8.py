"""int8 for small models: post-training quantization of the trained models with ReLU, GELU and SiLU.

Each model of the vision tasks (scikit-learn's digits CNN, MNIST-1D's MLP and CNN) is trained with
each activation (same seed, same data order), then quantized after training with PyTorch's FX graph
mode (``torch.ao.quantization``, the x86 backend's default static int8 configuration: per-channel
int8 weights, uint8 activations, observers calibrated on training batches). Measured per model and
activation: test accuracy in float32 and in int8, the latency of both on one thread at batch 1 and at
a larger batch (medians of repeats, every variant timed in turns), and how the int8 graph holds the
activation: ReLU fuses into the quantized convolution or linear layer before it (``ConvReLU``,
``LinearReLU``: no extra pass), while GELU and SiLU have no int8 kernel there, so each leaves the
int8 domain (dequantize, the float op, quantize again): the ``float islands`` counted in the
converted graph.

The language model of the ``lm`` task (the small character transformer) is quantized dynamically
(``quantize_dynamic``: int8 weights for every ``nn.Linear``, activations quantized per batch inside
each matmul, everything between the matmuls in float): validation loss in nats per character
before and after, and latency on 1 and on 16 windows of its block size.

Results are stored (``results/int8.json``, ``$GELULAB_INT8``) and reused by the report, as the other
measurements are; a file from another machine is not reused.

    gelulab int8                 # 4 models x relu, gelu, silu
    gelulab int8 --quick --json  # one model, a few steps
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import statistics
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ACTIVATIONS = ("relu", "gelu", "silu")
#: (task, model) pairs of the vision tasks
MODELS = (("digits", "cnn"), ("mnist1d", "mlp"), ("mnist1d", "cnn"), ("lm", "gpt"))
QUICK_MODELS = (("mnist1d", "mlp"),)
DEFAULT_PATH = Path("results") / "int8.json"
FORMAT = "gelulab-int8/1"
ENGINE = "x86"
#: an int8 model counts as faster than another when its latency is lower by more than this factor
SAME_WITHIN = 1.03


@dataclass
class Int8Config:
    models: tuple[tuple[str, str], ...] = MODELS
    activations: tuple[str, ...] = ACTIVATIONS
    seed: int = 0
    #: training steps per model (None: each task's default)
    steps: int | None = None
    batches: tuple[int, ...] = (1, 64)
    #: windows per call timed for the language model
    lm_batches: tuple[int, ...] = (1, 16)
    repeats: int = 7
    calibration_batches: int = 10

    @classmethod
    def quick(cls) -> Int8Config:
        return cls(models=QUICK_MODELS, steps=60, batches=(1,), repeats=3, calibration_batches=2)


@dataclass
class Int8Row:
    task: str
    model: str
    activation: str
    fp32_acc: float
    int8_acc: float
    #: the activation's passes outside the int8 domain in the converted graph (dequantize, float op, quantize)
    float_islands: int
    #: quantized modules with the activation fused in (ConvReLU, LinearReLU)
    fused: int
    #: batch -> milliseconds per call (median), float32 and int8
    fp32_ms: dict[str, float] = field(default_factory=dict)
    int8_ms: dict[str, float] = field(default_factory=dict)
    #: what fp32_acc and int8_acc hold: test accuracy, or validation loss in nats per character (lm)
    metric: str = "test_acc"

    @property
    def label(self) -> str:
        return f"{self.task}/{self.model}"

    @property
    def quality_lost(self) -> float:
        """What int8 cost: accuracy lost (points as a fraction) or loss gained (nats per character)."""
        return self.int8_acc - self.fp32_acc if self.metric == "val_loss" else self.fp32_acc - self.int8_acc


@dataclass
class Int8Result:
    rows: list[Int8Row]
    meta: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "meta": self.meta, "rows": [asdict(r) for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Int8Result:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a gelulab int8 file (format {data.get('format')!r})")
        return cls([Int8Row(**r) for r in data["rows"]], dict(data.get("meta", {})))

    def row(self, label: str, activation: str) -> Int8Row | None:
        return next((r for r in self.rows if r.label == label and r.activation == activation), None)

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(r.label for r in self.rows))


@contextlib.contextmanager
def _quiet():
    """torch.ao.quantization warns on import and on every use that it is deprecated in favour of torchao
    (not installed here); the x86 path it runs is the one PyTorch ships."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def quantize(model, x_calibration, engine: str = ENGINE, batch: int = 100, batches: int = 10):
    """The model quantized to int8 after training (FX graph mode, static), calibrated on
    ``batches`` batches of ``x_calibration``; returns (quantized model, float islands, fused modules)."""
    import torch

    with _quiet():
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        torch.backends.quantized.engine = engine
        example = (torch.from_numpy(x_calibration[:batch]),)
        prepared = prepare_fx(model.eval(), get_default_qconfig_mapping(engine), example)
        with torch.no_grad():
            for i in range(batches):
                chunk = x_calibration[i * batch:(i + 1) * batch]
                if len(chunk):
                    prepared(torch.from_numpy(chunk))
        quantized = convert_fx(prepared)
    islands, fused = _graph_counts(quantized)
    return quantized, islands, fused


def _graph_counts(quantized) -> tuple[int, int]:
    """(float islands, fused modules) of a converted graph: activation calls whose input was dequantized,
    and quantized modules whose class name carries ReLU."""
    islands = 0
    modules = dict(quantized.named_modules())
    for node in quantized.graph.nodes:
        if node.op in ("call_function", "call_method", "call_module") and node.args:
            source = node.args[0]
            dequantized = getattr(source, "op", None) == "call_method" and source.target == "dequantize"
            target = modules.get(node.target) if node.op == "call_module" else node.target
            name = getattr(target, "__name__", type(target).__name__).lower()
            if dequantized and any(a in name for a in ("gelu", "silu", "relu", "swish")):
                islands += 1
    fused = sum("relu" in type(m).__name__.lower() and "quantized" in type(m).__module__
                for m in modules.values())
    return islands, fused


def _language_model(overrides: dict[str, Any], seed: int):
    """(row, (float32 model, int8 model), validation windows) of the lm task: dynamic int8 of its linears.
    Its activations run in float between int8 matmuls whatever they are: no fusion, one float pass each."""
    import torch
    from torch import nn

    from .lm_task import evaluate_lm, train_lm

    outcome, model, (val_x, val_y) = train_lm(overrides, seed)
    with _quiet():
        from torch.ao.quantization import quantize_dynamic

        torch.backends.quantized.engine = ENGINE
        quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
        int8_loss = evaluate_lm(quantized, val_x, val_y)
    activations = sum(1 for _ in model.blocks)  # one activation per feed-forward block
    row = Int8Row("lm", "gpt", overrides["activation"], outcome.metrics["val_loss"], int8_loss, activations, 0,
                  metric="val_loss")
    return row, (_Logits(model), _Logits(quantized)), val_x.numpy()


class _Logits:
    """A language model called on windows of token ids, as the latency loop calls a classifier."""

    def __init__(self, model) -> None:
        self.model = model

    def __call__(self, x):
        return self.model(x)[0]


def _accuracy(model, x, y) -> float:
    import torch

    with torch.no_grad(), _quiet():
        return float((model(torch.from_numpy(x)).argmax(1) == torch.from_numpy(y)).double().mean())


def _latencies(models: dict[str, Any], x, repeats: int) -> dict[str, float]:
    """Milliseconds per call of each model on x: the CPU bench's round-robin sampling
    (:func:`gelulab.bench.cpu.sample_times`, every model once per round, in turns), medians."""
    import torch

    from ..bench.cpu import sample_times

    inputs = torch.from_numpy(x)
    with torch.no_grad(), _quiet():
        for m in models.values():
            m(inputs)  # warm: first calls allocate and pack weights
        samples = sample_times({k: functools.partial(m, inputs) for k, m in models.items()}, repeats)
    return {k: statistics.median(v) * 1e3 for k, v in samples.items()}


def run(config: Int8Config, progress: bool = True) -> Int8Result:
    """Train, quantize and time every (model, activation) of ``config``."""
    import torch
    from rich.progress import Progress

    from .vision_task import train_vision

    start = time.perf_counter()
    threads = torch.get_num_threads()
    rows: list[Int8Row] = []
    try:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("int8", total=len(config.models) * len(config.activations))
            for task_name, model_name in config.models:
                trained = {}
                for act in config.activations:
                    bar.update(task, description=f"int8: training {task_name}/{model_name} {act}")
                    torch.set_num_threads(threads)
                    overrides = {"task": task_name, "activation": act, "impl": "torch"}
                    if config.steps is not None:
                        overrides["steps"] = config.steps
                    if task_name == "lm":
                        row, pair, inputs = _language_model(overrides, config.seed)
                    else:
                        with contextlib.redirect_stdout(io.StringIO()):
                            outcome, model, data = train_vision({**overrides, "model": model_name}, config.seed)
                        q, islands, fused = quantize(model, data.x_train, batches=config.calibration_batches)
                        pair, inputs = (model, q), data.x_test
                        row = Int8Row(task_name, model_name, act, outcome.metrics["test_acc"],
                                      _accuracy(q, data.x_test, data.y_test), islands, fused)
                    trained[act] = pair
                    rows.append(row)
                    bar.advance(task)
                torch.set_num_threads(1)  # one core, as on a phone's small core
                for batch in (config.lm_batches if task_name == "lm" else config.batches):
                    x = inputs[:batch]
                    models = {f"{act}/{kind}": m for act, (fp32, q) in trained.items()
                              for kind, m in (("fp32", fp32), ("int8", q))}
                    ms = _latencies(models, x, config.repeats)
                    for r in rows[-len(config.activations):]:
                        r.fp32_ms[str(batch)] = ms[f"{r.activation}/fp32"]
                        r.int8_ms[str(batch)] = ms[f"{r.activation}/int8"]
    finally:
        torch.set_num_threads(threads)
    from ..report.section import environment

    env = environment()
    meta = {"created": datetime.now(UTC).isoformat(timespec="seconds"), "config": asdict(config),
            "cpu": env.get("cpu"), "machine": env.get("machine"), "torch": torch.__version__, "engine": ENGINE,
            "threads_timed": 1, "seconds": round(time.perf_counter() - start, 1)}
    return Int8Result(rows, meta)


# --- storage -----------------------------------------------------------------------------------------

def default_path() -> Path:
    return Path(os.environ.get("GELULAB_INT8", DEFAULT_PATH))


def save(result: Int8Result, path: Path | None = None) -> Path:
    path = Path(path or default_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(result.to_json(), indent=1))
    os.replace(tmp, path)
    return path


def load(path: Path | None = None) -> Int8Result | None:
    """The stored result, or None when there is none, it is unreadable or another machine made it."""
    path = Path(path or default_path())
    if not path.is_file():
        return None
    try:
        result = Int8Result.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError):
        return None
    from ..report.section import environment

    if result.meta.get("cpu") != environment().get("cpu"):
        return None
    return result


def load_or_measure(quick: bool = False) -> tuple[Int8Result, str]:
    """(result, where it came from): the stored full run, else a full run now, stored (the next caller
    loads it); quick: a small run, not stored, once per process (the claims and the Inference section
    share it)."""
    if quick:
        return _quick_measurement(), "measured in this build (quick: one model, a few training steps)"
    stored = load()
    if stored is not None:
        return stored, f"stored {default_path()} ({stored.meta.get('created', '?')})"
    result = run(Int8Config(), progress=False)
    save(result)
    return result, "measured in this build"


@functools.cache
def _quick_measurement() -> Int8Result:
    return run(Int8Config.quick(), progress=False)


# --- the verdict -----------------------------------------------------------------------------------

def _quality(r: Int8Row, value: float) -> str:
    return f"{value:.3f} nats/char" if r.metric == "val_loss" else f"{100 * value:.1f} %"


def relu_small_int8(result: Int8Result) -> dict[str, Any]:
    """"Small models (mobile) → ReLU", the int8 part: per model, is ReLU's int8 model faster than
    GELU's and SiLU's (by more than SAME_WITHIN, at the largest batch timed), without losing more to
    quantization (at most one point of accuracy, or 0.01 nats per character, more than theirs)?"""
    parts, clauses, numbers = [], [], {}
    for label in result.labels:
        relu = result.row(label, "relu")
        others = [r for r in (result.row(label, a) for a in ("gelu", "silu")) if r is not None]
        if relu is None or not others:
            continue
        batch = max(relu.int8_ms, key=int)
        faster = all(o.int8_ms[batch] > relu.int8_ms[batch] * SAME_WITHIN for o in others)
        keeps = all(relu.quality_lost <= o.quality_lost + 0.01 for o in others)
        parts.append(faster and keeps)
        numbers[label] = {r.activation: {"int8_ms": r.int8_ms[batch], "fp32_ms": r.fp32_ms[batch],
                                         "metric": r.metric, "fp32": r.fp32_acc, "int8": r.int8_acc,
                                         "float_islands": r.float_islands, "fused": r.fused}
                          for r in (relu, *others)}
        clauses.append(f"{label} (batch {batch}): int8 " + ", ".join(
            f"{r.activation} {r.int8_ms[batch]:.3f} ms, {_quality(r, r.fp32_acc)} → {_quality(r, r.int8_acc)}"
            f", {r.float_islands} float pass{'es' if r.float_islands != 1 else ''}" for r in (relu, *others)))
    if not parts:
        return {"verdict": "cannot be settled here", "summary": "no model with ReLU and GELU or SiLU was quantized",
                "numbers": {}, "command": "gelulab int8"}
    verdict = "holds" if all(parts) else ("fails" if not any(parts) else "holds in part")
    summary = (f"post-training int8 ({result.meta.get('engine', ENGINE)}, 1 thread): in the static int8 vision "
               "models ReLU fuses into the layer before it, GELU and SiLU leave the int8 domain for a float pass; "
               "the language model is quantized dynamically (int8 matmuls, every activation in float); "
               + "; ".join(clauses))
    return {"verdict": verdict, "summary": summary, "numbers": numbers, "command": "gelulab int8"}


def markdown_table(result: Int8Result) -> str:
    batches = sorted({b for r in result.rows for b in r.int8_ms}, key=int)
    head = "| model | activation | metric | fp32 | int8 | float passes | fused |" + "".join(
        f" fp32 b{b} (ms) | int8 b{b} (ms) |" for b in batches)
    lines = [head, "|" + "---|" * (7 + 2 * len(batches))]
    for r in result.rows:
        cells = "".join(f" {_ms(r.fp32_ms.get(b))} | {_ms(r.int8_ms.get(b))} |" for b in batches)
        metric = "val loss" if r.metric == "val_loss" else "test acc"
        lines.append(f"| {r.label} | {r.activation} | {metric} | {_quality(r, r.fp32_acc)} | "
                     f"{_quality(r, r.int8_acc)} | {r.float_islands} | {r.fused} |{cells}")
    return "\n".join(lines)


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"
