"""Every checked-in hard case through every CPU path, each result compared with the mpmath oracle.

The paths: the NumPy functions (``get(f).evaluate``), the CPU kernels (forward, grad * f'(x), the
gated f(a) * b and its gradient, the second-derivative product) and the torch ops with autograd
(forward, backward, the backward's backward). Products are checked with factors 1 and 3: the
oracle's value times the factor, rounded once. The Triton kernels run the same list under the
interpreter (tests/kernels_triton/interp_elementwise.py).
"""

from __future__ import annotations

from collections import defaultdict

import ml_dtypes
import mpmath
import numpy as np
import pytest
import torch

from gelulab import reference
from gelulab.accuracy.hard_cases import load_hard_cases
from gelulab.functions import get
from gelulab.kernels import cpu
from gelulab.torch import functional as gtf
from gelulab.torch import ops

NP = {"float32": np.dtype(np.float32), "float16": np.dtype(np.float16), "bfloat16": np.dtype(ml_dtypes.bfloat16)}
TORCH = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
FACTORS = (1.0, 3.0)

GROUPS: dict[tuple[str, int, str], list[float]] = defaultdict(list)
for _case in load_hard_cases():
    GROUPS[(get(_case.function).name, _case.order, _case.dtype)].append(_case.x)


def oracle(name: str, xs: np.ndarray, order: int, dtype: str, factor: float = 1.0) -> np.ndarray:
    """factor * f^(order)(x) by mpmath alone, rounded once to dtype."""
    out = []
    for x in xs.astype(np.float64):
        v = reference.evaluate(name, float(x), order)
        with mpmath.workprec(512):
            v = v * factor
        out.append(reference.round_to_format(v, dtype))
    return np.array(out)


def mismatches(got, want: np.ndarray, xs: np.ndarray) -> list[str]:
    got = np.asarray(got.float() if isinstance(got, torch.Tensor) else got).astype(np.float64).reshape(-1)
    bad = ~((got == want) | (np.isnan(got) & np.isnan(want)))
    return [f"x={float(x).hex()} got {g.hex()} want {w.hex()}" for x, g, w in zip(xs[bad], got[bad], want[bad],
                                                                                  strict=True)]


def _tensor(x: np.ndarray, dtype: str) -> torch.Tensor:
    return torch.tensor(x.astype(np.float64), dtype=torch.float64).to(TORCH[dtype])


@pytest.mark.parametrize("key", sorted(GROUPS), ids=[f"{f}-d{o}-{d}" for f, o, d in sorted(GROUPS)])
def test_hard_cases_are_correctly_rounded_on_every_path(key):
    name, order, dtype = key
    xs = np.array(GROUPS[key], dtype=np.float64).astype(NP[dtype])
    xs64 = xs.astype(np.float64)
    t = _tensor(xs64, dtype)
    failures: dict[str, list[str]] = {}

    def check(path: str, got, factor: float = 1.0, o: int = order) -> None:
        bad = mismatches(got, oracle(name, xs, o, dtype, factor), xs64)
        if bad:
            failures[path] = bad[:4]

    check("numpy", get(name).evaluate(xs, order))
    for k in FACTORS:
        g = np.full_like(xs, k)
        if order == 0:
            check(f"cpu forward x{k}", cpu.gated_forward(name, np.stack([xs, g], axis=0).T.copy())[:, 0], k)
            check(f"torch gated x{k}", ops._gated(torch.stack([t, _tensor(g, dtype)], dim=-1), name)[:, 0], k)
            check(f"cpu grad*f x{k}", cpu.gated_backward(name, g.reshape(-1, 1),
                                                         np.stack([xs, g], axis=0).T.copy())[:, 1], k)
        else:
            check(f"cpu grad*f^({order}) x{k}", cpu.derivative_times(name, g, xs, order), k)
            check(f"torch backward order {order} x{k}", ops.activation_backward_op(name)(_tensor(g, dtype), t, order),
                  k)
    if order == 0:
        check("cpu forward", cpu.forward(name, xs))
        check("torch forward", ops.activation_op(name)(t))
        check("gelulab.torch forward (no dispatcher: nothing to record)", gtf.activation(t, name))
        out = torch.empty_like(t)
        check("gelulab.torch forward out=", gtf.activation(t, name, out=out))
        check("torch bias form (bias 0)", ops._bias_act(t.reshape(-1, 1), torch.zeros(1, dtype=t.dtype), name))
    if order == 1:
        leaf = t.clone().requires_grad_(True)
        ops.activation_op(name)(leaf).backward(torch.ones_like(leaf))
        check("torch autograd f'", leaf.grad)
        # the gated gradient's first half: grad * b * f'(a), with grad * b = 1 * 3
        three = np.full_like(xs, 3.0)
        ga = cpu.gated_backward(name, np.ones((xs.size, 1), xs.dtype), np.stack([xs, three], axis=0).T.copy())
        check("cpu gated gradient d/da", ga[:, 0], 3.0)
    if order == 2:
        leaf = t.clone().requires_grad_(True)
        (d1,) = torch.autograd.grad(ops.activation_op(name)(leaf), leaf, torch.ones_like(leaf), create_graph=True)
        (d2,) = torch.autograd.grad(d1, leaf, torch.ones_like(leaf))
        check("torch autograd f''", d2)
    assert not failures, failures


def test_the_list_holds_structural_near_ties_of_silu_and_sigma_derivatives():
    # the inputs where x/2 (or x/4) puts 1/2 + ... exactly on a float32 midpoint
    for name in ("silu", "softplus"):
        assert len(GROUPS[(name, 1, "float32")]) >= 8
