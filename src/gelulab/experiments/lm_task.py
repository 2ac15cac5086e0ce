"""The ``lm`` task: train the small transformer of ``model.py`` on a character corpus.

Metric: validation cross-entropy in nats per character, averaged over every position of the
non-overlapping ``block_size`` windows that cover the validation split (the same windows for
every run). The seed fixes both the initial weights (``torch.manual_seed``) and the order of the
training windows (a NumPy generator of its own), so two runs with the same seed and different
activations see the same batches in the same order: their losses can be compared in pairs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .data import CharCorpus, pydoc_corpus
from .model import GPT, GPTConfig
from .outcome import RunOutcome

#: Defaults of the lm task (every key may be overridden from the command line).
LM_DEFAULTS: dict[str, Any] = {
    "steps": 300,
    "batch_size": 32,
    "block_size": 64,
    "n_layer": 2,
    "n_head": 4,
    "n_embd": 64,
    "d_ff": 192,
    "lr": 3e-3,
    "warmup": 30,
    "weight_decay": 0.1,
    "eval_every": 50,
    "corpus": "pydoc",
    "impl": "torch",
}


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to lr/10 (nanoGPT's schedule)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def _windows(ids: np.ndarray, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = (len(ids) - 1) // block
    x = ids[: n * block].reshape(n, block)
    y = ids[1 : n * block + 1].reshape(n, block)
    return torch.from_numpy(x), torch.from_numpy(y)


@torch.no_grad()
def evaluate_lm(model: GPT, x: torch.Tensor, y: torch.Tensor, batch: int = 128) -> float:
    """Mean cross-entropy (nats per character) over all positions of the windows (x, y)."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(x), batch):
        _, loss = model(x[i : i + batch], y[i : i + batch])
        total += float(loss) * y[i : i + batch].numel()
        count += y[i : i + batch].numel()
    model.train()
    return total / count


def _corpus(name: str) -> CharCorpus:
    if name == "pydoc":
        return pydoc_corpus()
    from .loaders import load_text_corpus

    return load_text_corpus(name)


def prepare_lm(config: dict[str, Any]) -> CharCorpus:
    return _corpus({**LM_DEFAULTS, **config}["corpus"])


def run_lm(config: dict[str, Any], seed: int, on_step: Callable[[int, int], None] | None = None) -> RunOutcome:
    """Train one model; returns final metrics, curves and the parameter counts."""
    return train_lm(config, seed, on_step)[0]


def train_lm(config: dict[str, Any], seed: int, on_step: Callable[[int, int], None] | None = None,
             ) -> tuple[RunOutcome, GPT, tuple[torch.Tensor, torch.Tensor]]:
    """``run_lm``, with the trained model (eval mode) and the validation windows: what int8 quantizes."""
    c = {**LM_DEFAULTS, **config}
    corpus = _corpus(c["corpus"])
    gcfg = GPTConfig(vocab_size=corpus.vocab_size, block_size=c["block_size"], n_layer=c["n_layer"],
                     n_head=c["n_head"], n_embd=c["n_embd"], d_ff=c["d_ff"], activation=c["activation"],
                     impl=c["impl"])
    torch.manual_seed(seed)
    model = GPT(gcfg)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=c["lr"], betas=(0.9, 0.99))
    train = torch.from_numpy(corpus.train)
    val_x, val_y = _windows(corpus.val, c["block_size"])
    # a fixed sixth of the validation windows for the learning curve; the full set at the end
    curve_x, curve_y = val_x[::6], val_y[::6]
    rng = np.random.default_rng(seed)
    order_digest = hashlib.sha256()  # stored with the run: paired runs must show the same data order
    offsets = torch.arange(c["block_size"])
    first, last = model.blocks[0].attn.qkv.weight, model.blocks[-1].ffn.w_out.weight
    curves: dict[str, list[tuple[int, float]]] = {"train_loss": [], "val_loss": []}
    log_ratio_sum, smoothed = 0.0, None
    steps = int(c["steps"])
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, c["lr"], c["warmup"])
        starts_np = rng.integers(0, len(train) - c["block_size"] - 1, size=c["batch_size"])
        order_digest.update(starts_np.tobytes())
        starts = torch.from_numpy(starts_np)
        idx = starts[:, None] + offsets
        _, loss = model(train[idx], train[idx + 1])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # gradient reaching the first block relative to the last: a direct gradient-flow measurement
        log_ratio_sum += math.log(float(first.grad.norm()) + 1e-30) - math.log(float(last.grad.norm()) + 1e-30)
        opt.step()
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"training loss became {value} at step {step}")
        smoothed = value if smoothed is None else 0.9 * smoothed + 0.1 * value
        if (step + 1) % c["eval_every"] == 0 or step + 1 == steps:
            curves["train_loss"].append((step + 1, smoothed))
            curves["val_loss"].append((step + 1, evaluate_lm(model, curve_x, curve_y)))
        if on_step is not None:
            on_step(step + 1, steps)
    val_loss = evaluate_lm(model, val_x, val_y)
    metrics = {
        "val_loss": val_loss,
        "val_bits_per_char": val_loss / math.log(2.0),
        "train_loss": smoothed,
        "grad_flow_log_ratio": log_ratio_sum / steps,
    }
    outcome = RunOutcome(metrics=metrics, curves=curves, n_params=model.num_params(),
                         extra={"ffn_params": model.ffn_params(), "ffn_width": gcfg.ffn_width(),
                                "vocab_size": corpus.vocab_size, "corpus": corpus.source,
                                "val_characters": int(val_y.numel()),
                                "data_order_sha256": order_digest.hexdigest()[:16]})
    return outcome, model.eval(), (val_x, val_y)
