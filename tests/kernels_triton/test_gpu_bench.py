"""The GPU measurements stop with one clear line where there is no CUDA device (as here and in CI)."""

from __future__ import annotations

import pytest
import torch

from gelulab.bench import gpu

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the message is for machines "
                             "without one")


@no_cuda
@pytest.mark.parametrize("argv", [["bandwidth"], ["bandwidth", "--ops", "geglu", "--max-exp", "20"],
                                  ["scan", "--function", "gelu_new", "--derivative", "1"]])
def test_without_cuda_the_commands_say_so_in_one_line(argv, capsys):
    assert gpu.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gelulab: error: no CUDA device: ") and "\n" not in err


@no_cuda
def test_the_scan_implementation_needs_cuda_too():
    import numpy as np

    with pytest.raises(gpu.GpuUnavailableError, match="^no CUDA device: "):
        gpu.TRITON.gelu_d0(np.zeros(4, dtype=np.float32))


def test_scan_implementation_names():
    assert callable(gpu.TRITON.silu_d1)
    with pytest.raises(AttributeError, match="use <name>_d0 or <name>_d1"):
        gpu.TRITON.mish_d0  # noqa: B018


def test_bad_sizes_are_refused_before_any_work(capsys):
    assert gpu.main(["bandwidth", "--min-exp", "30", "--max-exp", "20"]) == 2
    assert "--min-exp" in capsys.readouterr().err


def test_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        gpu.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "bandwidth" in out and "scan" in out
