"""Inference cost of the activation inside real networks: transformers' own model definitions.

Each model (ResNet-50, ConvNeXt-T, MobileNetV2, EfficientNet-B0, ViT-S/16, BERT-base) is built from
its config with random weights (no download), once per *variant*: its own activation, and every
activation module swapped to torch's ReLU, GELU, GELU-tanh and SiLU (``nn.ReLU``, ``nn.GELU()``,
``nn.GELU("tanh")``, ``nn.SiLU``), and to gelulab's correctly rounded op of the same activations
(``gelulab.torch.swap_activations``). For a batch size and a mode (eager or ``torch.compile``
inference under ``torch.inference_mode``, or ``train``: one eager training step, forward in train
mode and backward) the variants are timed in turns (A B C ... A B C ...); the result is the
median latency with its range, and each variant's ratio to the ReLU variant timed in the same turns.
In eager mode a profiled pass wraps every activation module in ``torch.profiler.record_function``
and gives the activation's share of the forward's time (compiled graphs fuse the activation into
its neighbours, so there is no share to give).

Each (model, batch, mode) group is saved atomically as soon as it is measured; a rerun skips the
groups already stored for the same torch version and CPU, so an interrupted run resumes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("results") / "bench" / "models.json"
FORMAT = "gelulab-model-bench/1"
#: torch's own modules for the swapped variants
TORCH_MODULES = ("relu", "gelu", "gelu_tanh", "silu")
MARKER = "gelulab.activation"


def _torch_module(name: str):
    from torch import nn

    return {"relu": nn.ReLU, "gelu": nn.GELU, "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
            "silu": nn.SiLU}[name]()


@dataclass(frozen=True)
class ModelSpec:
    label: str
    family: str  # "vision" or "text"
    build: Callable[[bool], Any]  # small -> the model (small: a few-layer config for tests and --quick)
    inputs: Callable[[int, bool], dict]  # batch, small -> forward kwargs


def _vision_inputs(size: int) -> Callable[[int, bool], dict]:
    def inputs(batch: int, small: bool) -> dict:
        import torch

        s = 64 if small else size
        return {"pixel_values": torch.randn(batch, 3, s, s, generator=torch.Generator().manual_seed(0))}

    return inputs


def _text_inputs(batch: int, small: bool) -> dict:
    import torch

    n = 16 if small else 128
    ids = torch.randint(0, 30000, (batch, n), generator=torch.Generator().manual_seed(0))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def _imagenet(cfg):
    """The config with ImageNet's 1000 classes (transformers' defaults have 2), as the named models have."""
    cfg.num_labels = 1000
    return cfg


def _resnet50(small: bool):
    import transformers as T

    cfg = T.ResNetConfig(depths=[1, 1, 1, 1]) if small else T.ResNetConfig()  # the default is ResNet-50
    return T.ResNetForImageClassification(_imagenet(cfg))


def _convnext_t(small: bool):
    import transformers as T

    cfg = T.ConvNextConfig(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128]) if small else T.ConvNextConfig()
    return T.ConvNextForImageClassification(_imagenet(cfg))


def _mobilenet_v2(small: bool):
    import transformers as T

    return T.MobileNetV2ForImageClassification(_imagenet(T.MobileNetV2Config(depth_multiplier=0.35 if small else 1.0)))


def _efficientnet_b0(small: bool):
    import transformers as T

    # the default config is B7 (width 2.0, depth 3.1, 600 px, a 2560-wide head); B0 is width 1.0,
    # depth 1.0, 224 px, a 1280-wide head
    cfg = T.EfficientNetConfig(width_coefficient=1.0, depth_coefficient=0.25 if small else 1.0,
                               image_size=64 if small else 224, hidden_dim=1280)
    return T.EfficientNetForImageClassification(_imagenet(cfg))


def _vit_s16(small: bool):
    import transformers as T

    if small:
        cfg = T.ViTConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                          image_size=64, patch_size=16)
    else:  # ViT-S/16: 384 wide, 12 layers, 6 heads, MLP 1536
        cfg = T.ViTConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536)
    return T.ViTForImageClassification(_imagenet(cfg))


def _bert_base(small: bool):
    import transformers as T

    cfg = (T.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
           if small else T.BertConfig())  # the default is BERT-base
    return T.BertModel(cfg, add_pooling_layer=False)


MODELS: dict[str, ModelSpec] = {m.label: m for m in (
    ModelSpec("ResNet-50", "vision", _resnet50, _vision_inputs(224)),
    ModelSpec("ConvNeXt-T", "vision", _convnext_t, _vision_inputs(224)),
    ModelSpec("MobileNetV2", "vision", _mobilenet_v2, _vision_inputs(224)),
    ModelSpec("EfficientNet-B0", "vision", _efficientnet_b0, _vision_inputs(224)),
    ModelSpec("ViT-S/16", "vision", _vit_s16, _vision_inputs(224)),
    ModelSpec("BERT-base", "text", _bert_base, _text_inputs),
)}


@dataclass
class ModelBenchConfig:
    models: list[str] = field(default_factory=lambda: list(MODELS))
    batches: list[int] = field(default_factory=lambda: [1, 16])
    modes: list[str] = field(default_factory=lambda: ["eager", "compile"])
    #: torch's modules swapped in; "own" (the model's activation) always runs
    activations: list[str] = field(default_factory=lambda: list(TORCH_MODULES))
    gelulab: bool = True  # gelulab's op of each activation, eager only
    repeats: int = 7
    small: bool = False  # few-layer configs at small inputs: shows the pipeline, not the answer
    threads: int | None = None

    @classmethod
    def quick(cls) -> ModelBenchConfig:
        return cls(models=["MobileNetV2", "ViT-S/16"], batches=[1], modes=["eager"], activations=["relu", "gelu"],
                   gelulab=False, repeats=3, small=True)


def _activation_modules(model) -> list[tuple[str, str]]:
    """(path, registry name) of every activation module the model holds."""
    from ..torch.swap import recognise

    found = []
    for path, module in model.named_modules(remove_duplicate=False):
        name, _ = recognise(module)
        if name is not None and path:
            found.append((path, name))
    return found


def _replace(model, make: Callable[[str, str], Any]) -> int:
    """Replace every activation module by ``make(path, its registry name)``; the number replaced."""
    found = _activation_modules(model)
    for path, name in found:
        parent_path, _, attr = path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        setattr(parent, attr, make(path, name))
    return len(found)


def _marked(inner):
    """``inner`` wrapped so the profiler sees its time as one labelled range."""
    import torch
    from torch import nn

    class Marked(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x):
            with torch.profiler.record_function(MARKER):
                return self.inner(x)

    return Marked(inner)


def build_variants(spec: ModelSpec, config: ModelBenchConfig) -> dict[str, dict[str, Any]]:
    """{variant label: {"model", "activation", "implementation", "swapped"}}: the model as defined
    ("own"), and with its activations replaced by torch's modules and by gelulab's ops."""
    import torch

    from ..torch.swap import swap_activations

    torch.manual_seed(0)
    base = spec.build(config.small).eval()
    own = sorted({name for _, name in _activation_modules(base)})
    variants = {"own": {"model": base, "activation": "+".join(own) or "none found", "implementation": "torch",
                        "swapped": 0}}
    state = base.state_dict()
    for act in config.activations:
        m = spec.build(config.small).eval()
        m.load_state_dict(state)
        n = _replace(m, lambda _p, _n, act=act: _torch_module(act))
        variants[f"torch {act}"] = {"model": m, "activation": act, "implementation": "torch", "swapped": n}
        if config.gelulab:
            g = spec.build(config.small).eval()
            g.load_state_dict(state)
            report = swap_activations(g, to=act)
            variants[f"gelulab {act}"] = {"model": g, "activation": act, "implementation": "gelulab",
                                          "swapped": len(report.swapped)}
    return variants


def _time_in_turns(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Each call ``repeats`` times, in turns (A B C A B C ...), after one warm-up call each."""
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(repeats):
        for k, fn in calls.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return times


@contextlib.contextmanager
def _quiet_stderr():
    """File descriptor 2 pointed at /dev/null for the block (C++ logging bypasses sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def activation_share(model, inputs: dict, passes: int = 2) -> float:
    """The fraction of an eager forward's wall time spent inside activation modules (profiled)."""
    import copy

    import torch
    from torch.profiler import ProfilerActivity, profile

    marked = copy.deepcopy(model)
    _replace(marked, lambda path, _n: _marked(marked.get_submodule(path)))
    with torch.inference_mode():
        marked(**inputs)
        with _quiet_stderr():  # the profiler's runtime logs its start and stop on the process's stderr
            prof = profile(activities=[ProfilerActivity.CPU])
            prof.__enter__()
        start = time.perf_counter()
        for _ in range(passes):
            marked(**inputs)
        wall = time.perf_counter() - start
        with _quiet_stderr():
            prof.__exit__(None, None, None)
    inside = sum(e.cpu_time_total for e in prof.key_averages() if e.key == MARKER) / 1e6
    return inside / wall if wall > 0 else float("nan")


#: Modes that run gelulab's ops too (eager): inference, and a training step (forward and backward).
EAGER_MODES = ("eager", "train")
MODES = ("eager", "compile", "train")


def _training_step(model, inputs: dict) -> Callable[[], None]:
    """One training step's compute, eager: forward in train mode (dropout, batch statistics),
    backward of the summed first output (logits, or the last hidden state), gradients cleared
    first. No optimizer update: it costs the same for every activation."""

    def step() -> None:
        model.zero_grad(set_to_none=True)
        out = model(**inputs)[0]
        out.float().sum().backward()

    return step


def measure_group(spec: ModelSpec, variants: dict[str, dict], batch: int, mode: str,
                  config: ModelBenchConfig) -> dict[str, Any]:
    """One (model, batch, mode): every variant's latency (timed in turns), ratio to ReLU and share."""
    import torch

    inputs = spec.inputs(batch, config.small)
    chosen = {k: v for k, v in variants.items() if mode in EAGER_MODES or v["implementation"] == "torch"}
    compile_s: dict[str, float] = {}
    runners: dict[str, Callable[[], Any]] = {}
    for k, v in chosen.items():
        model = v["model"]
        if mode == "compile":
            torch._dynamo.reset()
            compiled = torch.compile(model)
            t = time.perf_counter()
            with torch.inference_mode():
                compiled(**inputs)  # the compile
            compile_s[k] = time.perf_counter() - t
            model = compiled

        def run(model=model) -> None:
            with torch.inference_mode():
                model(**inputs)

        runners[k] = _training_step(model, inputs) if mode == "train" else run
    for v in chosen.values():
        v["model"].train(mode == "train")
    try:
        times = _time_in_turns(runners, config.repeats)
    finally:
        for v in chosen.values():
            v["model"].eval()
    median = {k: statistics.median(t) for k, t in times.items()}
    relu = median.get("torch relu")
    rows = []
    for k, v in chosen.items():
        row = {"variant": k, "activation": v["activation"], "implementation": v["implementation"],
               "swapped": v["swapped"], "median_ms": 1e3 * median[k], "min_ms": 1e3 * min(times[k]),
               "max_ms": 1e3 * max(times[k]), "vs_relu": median[k] / relu if relu else None,
               "compile_s": compile_s.get(k)}
        if mode == "eager":
            row["activation_share"] = activation_share(v["model"], inputs)
        rows.append(row)
    return {"model": spec.label, "family": spec.family, "batch": batch, "mode": mode, "repeats": config.repeats,
            "rows": rows}


def machine() -> dict[str, Any]:
    import torch

    from ..accuracy.campaign import cpu_model

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}


def load(path: Path) -> dict[str, Any] | None:
    """A stored result, or None when there is none or it cannot be read (it is then remeasured)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("groups"), list):
        return None
    return data


def save(data: dict[str, Any], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def run(config: ModelBenchConfig, path: Path | None = DEFAULT_OUT, progress: bool = True,
        fresh: bool = False) -> dict[str, Any]:
    """Measure every (model, batch, mode) group of ``config`` not yet stored at ``path`` for this
    torch and CPU; each group is saved as soon as it is done."""
    import torch

    unknown = [m for m in config.models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    if config.threads:
        torch.set_num_threads(config.threads)
    here = machine()
    stored = None if (fresh or path is None) else load(path)
    if stored is not None and (stored["machine"].get("torch"), stored["machine"].get("cpu"), stored.get("small")) != (
            here["torch"], here["cpu"], config.small):
        # another torch, CPU or model size: not mixed in, and not overwritten
        raise ValueError(f"{path} holds a measurement of torch {stored['machine'].get('torch')} on "
                         f"{stored['machine'].get('cpu')} (small models: {stored.get('small')}); pass --fresh to "
                         f"replace it or --out for another file")
    data = stored or {"format": FORMAT, "machine": here, "small": config.small, "groups": [],
                      "config": {k: v for k, v in asdict(config).items()}}
    done = {(g["model"], g["batch"], g["mode"]) for g in data["groups"]}
    todo = [(m, b, mode) for m in config.models for b in config.batches for mode in config.modes
            if (m, b, mode) not in done]
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task("models", total=len(todo))
        variants_of: dict[str, dict] = {}
        for m, b, mode in todo:
            bar.update(task, description=f"{m} batch {b} {mode}")
            if m not in variants_of:
                variants_of.clear()  # one model's variants in memory at a time
                variants_of[m] = build_variants(MODELS[m], config)
            group = measure_group(MODELS[m], variants_of[m], b, mode, config)
            group["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            data["groups"].append(group)
            if path is not None:
                save(data, path)
            bar.advance(task)
    return data


def groups(data: dict[str, Any], models: Iterable[str] | None = None) -> list[dict[str, Any]]:
    keep = set(models) if models is not None else None
    return [g for g in data["groups"] if keep is None or g["model"] in keep]


#: what a report measures when no stored measurement exists: real models, batch 1, eager, torch's ops
REPORT_CONFIG = ModelBenchConfig(models=["ResNet-50", "MobileNetV2", "ViT-S/16", "BERT-base"], batches=[1],
                                 modes=["eager"], activations=["relu", "gelu"], gelulab=False, repeats=5)


def stored_path() -> Path:
    return Path(os.environ.get("GELULAB_MODEL_BENCH", DEFAULT_OUT))


def load_or_measure(quick: bool = False) -> dict[str, Any]:
    """The stored measurement of real-size models (``gelulab inference`` writes it) when there is one,
    from whichever machine (its ``machine`` says which); else a small one measured now: the
    report's set (``REPORT_CONFIG``), stored when nothing is, or with ``quick`` few-layer models
    (not stored: they show the pipeline, not the answer)."""
    path = stored_path()
    stored = load(path)
    if stored is not None and not stored.get("small") and stored["groups"]:
        return {**stored, "stored": str(path)}
    if quick:
        return _quick_measurement()
    keep = path if stored is None and not path.exists() else None  # an unreadable file is left as it is
    return {**run(REPORT_CONFIG, path=keep, progress=False), "stored": str(keep) if keep else None}


@functools.cache
def _quick_measurement() -> dict[str, Any]:
    """The few-layer measurement, once per process (the Inference section and the claims share it)."""
    return {**run(ModelBenchConfig.quick(), path=None, progress=False), "stored": None}


def by_activation(group: dict[str, Any], implementation: str = "torch") -> dict[str, dict[str, Any]]:
    """A group's rows of one implementation by activation (the model's own activation as "own")."""
    return {("own" if r["variant"] == "own" else r["activation"]): r for r in group["rows"]
            if r["implementation"] == implementation}


def table_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """One row per (model, batch, mode): each torch activation's median latency and its ratio to
    ReLU's, the activation's share of the eager time, and gelulab's op beside torch's where timed."""
    acts = ["own", *[a for a in TORCH_MODULES if any(a in by_activation(g) for g in data["groups"])]]
    header = ["model", "batch", "mode", *[f"{a} ms (x ReLU)" for a in acts], "activation share (GELU)",
              "gelulab GELU / torch GELU"]
    rows = []
    for g in data["groups"]:
        torch_rows, ours = by_activation(g), by_activation(g, "gelulab")
        cells = [g["model"], str(g["batch"]), g["mode"]]
        for a in acts:
            r = torch_rows.get(a)
            label = f" [{r['activation']}]" if r is not None and a == "own" else ""
            cells.append("—" if r is None else f"{r['median_ms']:.3g}{label} ({r['vs_relu']:.2f})")
        gelu = torch_rows.get("gelu", {})
        share = gelu.get("activation_share")
        cells.append("—" if share is None else f"{100 * share:.1f} %")
        mine = ours.get("gelu")
        cells.append("—" if mine is None or not gelu else f"{mine['median_ms'] / gelu['median_ms']:.2f}")
        rows.append(cells)
    return header, rows


def plot(data: dict[str, Any], path: Path) -> Path:
    """GELU, GELU-tanh and SiLU latency over ReLU's, per model, batch and mode: the bars a reader compares."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gs = data["groups"]
    acts = [a for a in ("gelu", "gelu_tanh", "silu") if any(a in by_activation(g) for g in gs)]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(gs) * max(1, len(acts))), 3.6))
    width = 0.8 / max(1, len(acts))
    for j, a in enumerate(acts):
        values = [by_activation(g).get(a, {}).get("vs_relu") or float("nan") for g in gs]
        ax.bar([i + j * width for i in range(len(gs))], values, width, label=a)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_xticks([i + width * (len(acts) - 1) / 2 for i in range(len(gs))])
    ax.set_xticklabels([f"{g['model']}\nb{g['batch']} {g['mode']}" for g in gs], fontsize=7)
    ax.set_ylabel("latency / ReLU's (same run)")
    ax.set_title(f"Whole-network CPU inference, {data['machine']['cpu']}, {data['machine']['threads']} threads",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --- what the measurement says about the explainer's statements ----------------------------------

#: a whole-network latency within this factor of ReLU's is "the same" (a turn-to-turn spread of
#: repeated medians on a quiet machine is a few per cent)
SAME_WITHIN = 1.03


def cost_on_real_models(data: dict[str, Any]) -> dict[str, Any]:
    """"Computation cost: slightly higher (GELU) | very cheap (ReLU)" on whole networks: GELU's latency
    over ReLU's (torch's ops, same turns), per group. Holds when GELU is slower everywhere, and by at
    most 2x; fails when it is nowhere measurably slower; holds in part otherwise."""
    ratios = {f"{g['model']} b{g['batch']} {g['mode']}": by_activation(g)["gelu"]["vs_relu"]
              for g in data["groups"] if "gelu" in by_activation(g) and "relu" in by_activation(g)}
    if not ratios:
        return {"verdict": "cannot be settled here", "summary": "no model was timed with both ReLU and GELU",
                "numbers": {}}
    slower = {k: SAME_WITHIN < r <= 2.0 for k, r in ratios.items()}
    verdict = ("holds" if all(slower.values()) else "fails" if not any(r > SAME_WITHIN for r in ratios.values())
               else "holds in part")
    lo, hi = min(ratios.values()), max(ratios.values())
    shares = [by_activation(g)["gelu"].get("activation_share") for g in data["groups"]
              if "gelu" in by_activation(g) and g["mode"] == "eager"]
    shares = [s for s in shares if s is not None]
    share = f"; GELU takes {100 * min(shares):.1f}-{100 * max(shares):.1f} % of the eager time" if shares else ""
    summary = (f"whole networks, GELU latency / ReLU's: {lo:.2f}-{hi:.2f}x over {len(ratios)} model/batch/mode "
               f"groups ({sum(slower.values())} measurably slower, by >{100 * (SAME_WITHIN - 1):.0f} %){share}")
    return {"verdict": verdict, "summary": summary, "numbers": {"gelu_over_relu": ratios, "same_within": SAME_WITHIN}}


def relu_faster_inference(data: dict[str, Any]) -> dict[str, Any]:
    """"Deep vision networks, faster inference -> ReLU": on the vision models, is the ReLU variant
    faster than the variants with GELU, GELU-tanh and SiLU (and than the model's own activation)?
    Holds when ReLU is measurably faster than every other variant in every vision group; fails when
    it is measurably faster in none; holds in part otherwise."""
    parts: dict[str, bool] = {}
    inference = [g for g in data["groups"] if g["family"] == "vision" and g["mode"] != "train"]
    for g in inference:
        rows = by_activation(g)
        for a, r in rows.items():
            if a == "relu" or (a == "own" and r["activation"] == "relu"):
                continue
            parts[f"{g['model']} b{g['batch']} {g['mode']}: ReLU faster than {r['activation']}"] = (
                r["vs_relu"] > SAME_WITHIN)
    if not parts:
        return {"verdict": "cannot be settled here", "summary": "no vision model was timed", "numbers": {}}
    n = sum(parts.values())
    verdict = "holds" if n == len(parts) else "fails" if n == 0 else "holds in part"
    ratios = [by_activation(g)[a]["vs_relu"] for g in inference for a in by_activation(g) if a != "relu"]
    summary = (f"vision models, other activations' latency / ReLU's: {min(ratios):.2f}-{max(ratios):.2f}x; ReLU "
               f"measurably faster (>{100 * (SAME_WITHIN - 1):.0f} %) in {n} of {len(parts)} comparisons")
    return {"verdict": verdict, "summary": summary, "numbers": {"parts": parts}}


def source_text(data: dict[str, Any]) -> str:
    m = data["machine"]
    size = "few-layer models (--quick)" if data.get("small") else "real-size models"
    where = f"stored {data['stored']}" if data.get("stored") else "measured now"
    return f"{size}, {m['cpu']}, {m['threads']} threads, torch {m['torch']}, {where}"
