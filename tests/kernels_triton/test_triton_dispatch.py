"""gelulab.torch registers a CUDA implementation of every op, without needing Triton, on any torch build."""

from __future__ import annotations

import subprocess
import sys

import torch

from gelulab.torch import ops


def test_every_op_has_a_cuda_kernel_registered():
    missing = [q for q in ops.all_ops() if not torch._C._dispatch_has_kernel_for_dispatch_key(q, "CUDA")]
    assert not missing, missing


def test_gelulab_torch_works_without_triton():
    # sys.modules["triton"] = None makes every "import triton" fail, as on a machine without it: so this
    # also checks that importing gelulab.torch (and running its ops on the CPU) never needs Triton
    code = ("import sys; sys.modules['triton'] = None\n"
            "import torch, gelulab.torch as gt\n"
            "from gelulab.kernels import triton as gk\n"
            "x = torch.tensor([-0.75, 1.0], requires_grad=True); gt.geglu(torch.ones(2, 4))\n"
            "gt.gelu(x).sum().backward()\n"
            "print(gk.available(), gt.cuda_kernels.uses_triton('gelu', torch.float32), "
            "'gelulab.kernels.triton.launch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]
