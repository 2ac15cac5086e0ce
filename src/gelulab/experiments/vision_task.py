"""The vision tasks: a small CNN on scikit-learn's digits, an MLP or CNN on MNIST-1D.

Metrics: test accuracy and test cross-entropy (nats). The MNIST-1D models and their defaults follow
the MNIST-1D paper (Greydanus 2020): MLP 40-100-100-10, CNN of three stride-2 Conv1d layers with 25
channels; Adam, learning rate 1e-2, batch 100, 6 000 steps. The seed fixes the initial weights and the
minibatch order (a NumPy generator of its own), so runs differing only in activation are paired.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .activations import activation_module, is_gated
from .data import ArrayDataset, digits, mnist1d
from .outcome import RunOutcome

DIGITS_DEFAULTS: dict[str, Any] = {"model": "cnn", "steps": 300, "batch_size": 64, "lr": 3e-3, "eval_every": 50,
                                   "impl": "torch"}
MNIST1D_DEFAULTS: dict[str, Any] = {"model": "cnn", "steps": 1500, "batch_size": 100, "lr": 1e-2,
                                    "eval_every": 250, "impl": "torch"}
#: Models of each vision task.
MODELS: dict[str, tuple[str, ...]] = {"digits": ("cnn",), "mnist1d": ("mlp", "cnn")}
#: The MNIST-1D paper's training length (its published baselines are measured there).
MNIST1D_PAPER_STEPS = 6000


def _check_plain(activation: str, task: str) -> None:
    if is_gated(activation):
        raise ValueError(f"gated unit {activation!r} needs an FFN; the {task} models take plain activations")


class DigitsCNN(nn.Module):
    """8x8 -> conv3x3(16) -> act -> conv3x3(32) -> act -> maxpool2 -> fc(64) -> act -> fc(10)."""

    def __init__(self, activation: str, impl: str = "torch") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)
        self.act1, self.act2, self.act3 = (activation_module(activation, impl) for _ in range(3))

    def probe_layers(self) -> tuple[nn.Parameter, nn.Parameter]:
        return self.conv1.weight, self.fc2.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act2(self.conv2(self.act1(self.conv1(x))))
        x = F.max_pool2d(x, 2).flatten(1)
        return self.fc2(self.act3(self.fc1(x)))


class MLP1D(nn.Module):
    """MNIST-1D paper's MLP: 40 -> 100 -> 100 -> 10."""

    def __init__(self, activation: str, impl: str = "torch", width: int = 100) -> None:
        super().__init__()
        self.fc1 = nn.Linear(40, width)
        self.fc2 = nn.Linear(width, width)
        self.fc3 = nn.Linear(width, 10)
        self.act1, self.act2 = activation_module(activation, impl), activation_module(activation, impl)

    def probe_layers(self) -> tuple[nn.Parameter, nn.Parameter]:
        return self.fc1.weight, self.fc3.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))


class CNN1D(nn.Module):
    """MNIST-1D paper's CNN: Conv1d(1,25,5,s2,p1) -> Conv1d(25,25,3,s2,p1) x2 -> linear(125 -> 10)."""

    def __init__(self, activation: str, impl: str = "torch", channels: int = 25) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.fc2 = nn.Linear(channels * 5, 10)
        self.act1, self.act2, self.act3 = (activation_module(activation, impl) for _ in range(3))

    def probe_layers(self) -> tuple[nn.Parameter, nn.Parameter]:
        return self.conv1.weight, self.fc2.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, None, :]
        x = self.act3(self.conv3(self.act2(self.conv2(self.act1(self.conv1(x))))))
        return self.fc2(x.flatten(1))


def _build(task: str, model: str, activation: str, impl: str) -> tuple[nn.Module, ArrayDataset]:
    _check_plain(activation, task)
    if model not in MODELS.get(task, ()):
        raise ValueError(f"{task} models are {', '.join(MODELS.get(task, ()))} (got {model!r})")
    if task == "digits":
        return DigitsCNN(activation, impl), digits()
    return (MLP1D if model == "mlp" else CNN1D)(activation, impl), mnist1d()


def prepare_vision(config: dict[str, Any]) -> ArrayDataset:
    return digits() if config["task"] == "digits" else mnist1d()


@torch.no_grad()
def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    logits = model(x)
    model.train()
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).double().mean())


def run_vision(config: dict[str, Any], seed: int,
               on_step: Callable[[int, int], None] | None = None) -> RunOutcome:
    """Train one classifier with Adam at a constant learning rate; return test accuracy and loss."""
    return train_vision(config, seed, on_step)[0]


def train_vision(config: dict[str, Any], seed: int, on_step: Callable[[int, int], None] | None = None,
                 ) -> tuple[RunOutcome, nn.Module, ArrayDataset]:
    """``run_vision``, with the trained model (in eval mode) and its data: what int8 quantizes."""
    task = config["task"]
    c = {**(DIGITS_DEFAULTS if task == "digits" else MNIST1D_DEFAULTS), **config}
    torch.manual_seed(seed)
    model, data = _build(task, c["model"], c["activation"], c["impl"])
    opt = torch.optim.Adam(model.parameters(), lr=c["lr"])
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_test, y_test = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    rng = np.random.default_rng(seed)
    order_digest = hashlib.sha256()  # stored with the run: paired runs must show the same data order
    curves: dict[str, list[tuple[int, float]]] = {"train_loss": [], "test_loss": [], "test_acc": []}
    log_ratio_sum, smoothed = 0.0, None
    steps, n = int(c["steps"]), len(y_train)
    order, cursor = rng.permutation(n), 0
    for step in range(steps):
        if cursor + c["batch_size"] > n:  # epoch boundary: a fresh permutation from the run's generator
            order, cursor = rng.permutation(n), 0
        batch_np = order[cursor : cursor + c["batch_size"]]
        order_digest.update(batch_np.tobytes())
        batch = torch.from_numpy(batch_np)
        cursor += c["batch_size"]
        loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # gradient reaching the first layer relative to the last: a direct gradient-flow measurement
        first, last = (p.grad for p in model.probe_layers())
        log_ratio_sum += math.log(float(first.norm()) + 1e-30) - math.log(float(last.norm()) + 1e-30)
        opt.step()
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"training loss became {value} at step {step}")
        smoothed = value if smoothed is None else 0.9 * smoothed + 0.1 * value
        if (step + 1) % c["eval_every"] == 0 or step + 1 == steps:
            test_loss, test_acc = _evaluate(model, x_test, y_test)
            curves["train_loss"].append((step + 1, smoothed))
            curves["test_loss"].append((step + 1, test_loss))
            curves["test_acc"].append((step + 1, test_acc))
        if on_step is not None:
            on_step(step + 1, steps)
    test_loss, test_acc = _evaluate(model, x_test, y_test)
    metrics = {"test_acc": test_acc, "test_loss": test_loss, "train_loss": smoothed,
               "grad_flow_log_ratio": log_ratio_sum / steps}
    n_params = sum(p.numel() for p in model.parameters())
    outcome = RunOutcome(metrics=metrics, curves=curves, n_params=n_params,
                         extra={"dataset": data.source, "n_train": n, "n_test": len(y_test),
                                "data_order_sha256": order_digest.hexdigest()[:16]})
    return outcome, model.eval(), data
