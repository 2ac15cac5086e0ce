"""Fresh outputs on transparent huge pages: advised where the kernel offers them, nowhere else."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from gelulab.kernels.cpu import memory
from gelulab.torch import functional as gtf
from gelulab.torch import pool, tensors
from gelulab.torch.tensors import new_output

HUGE = memory.huge_page_bytes()


def _vma_flags(address: int) -> dict[str, str]:
    """The /proc/self/smaps fields of the mapping that holds ``address``."""
    fields: dict[str, str] = {}
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and ":" not in head:
            lo, hi = (int(v, 16) for v in head.split("-"))
            if inside:
                break
            inside = lo <= address < hi
        elif inside:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_only_the_aligned_interior_of_large_buffers_is_advised():
    buf = torch.empty(3 * (HUGE or 1 << 21) // 4 + 1024)
    address, nbytes = buf.data_ptr(), buf.numel() * 4
    advised = memory.advise_huge_pages(address, nbytes)
    if not HUGE:
        assert advised == 0
        return
    start = -(-address // HUGE) * HUGE
    end = (address + nbytes) // HUGE * HUGE
    assert advised == end - start and advised % HUGE == 0 and advised > 0
    assert memory.advise_huge_pages(address, memory.MIN_BYTES - 1) == 0  # small: left alone


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="smaps and transparent huge pages are Linux's")
def test_large_op_outputs_are_huge_page_eligible_and_small_ones_untouched(monkeypatch):
    x = torch.randn(1 << 22)  # 16 MiB
    y = gtf.activation(x, "gelu")
    assert torch.equal(y[:4096], gtf.activation(x[:4096], "gelu"))
    inside = -(-y.data_ptr() // (HUGE or 1 << 21)) * (HUGE or 1 << 21)  # first huge page of the output
    assert ("hg" in _vma_flags(inside).get("VmFlags", "").split()) == bool(HUGE)
    for limit, module in ((0, tensors), (1 << 30, pool)):  # output pool off, and on (a new block)
        monkeypatch.setattr(pool, "_POOL", pool.OutputPool(limit))
        advised = []
        monkeypatch.setattr(module, "advise_huge_pages", lambda address, nbytes, seen=advised: seen.append(nbytes))
        new_output(torch.empty(1024))
        assert advised == []  # no system call for small outputs
        new_output(torch.empty(1 << 22))
        assert advised == [16 << 20]


@pytest.fixture
def huge_pages_off(monkeypatch):
    """GELULAB_HUGE_PAGES=0 for one test (the setting is read once and cached)."""
    monkeypatch.setenv("GELULAB_HUGE_PAGES", "0")
    memory.huge_page_bytes.cache_clear()
    yield
    monkeypatch.delenv("GELULAB_HUGE_PAGES")
    memory.huge_page_bytes.cache_clear()


def test_the_environment_switch_turns_it_off(huge_pages_off):
    assert memory.huge_page_bytes() == 0
    buf = torch.empty(16 << 20)
    assert memory.advise_huge_pages(buf.data_ptr(), buf.numel() * 4) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="smaps and transparent huge pages are Linux's")
def test_the_environment_switch_holds_for_pooled_outputs_too(huge_pages_off, monkeypatch):
    monkeypatch.setattr(pool, "_POOL", pool.OutputPool(1 << 30))
    y = gtf.activation(torch.randn(1 << 22), "gelu")
    assert pool.stats()["misses"] == 1  # pooled
    inside = -(-y.data_ptr() // (1 << 21)) * (1 << 21)
    assert "hg" not in _vma_flags(inside).get("VmFlags", "").split()
