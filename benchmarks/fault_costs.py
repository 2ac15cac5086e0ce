"""What the first write to fresh memory costs here: 4 KiB pages against transparent huge pages.

Each call takes a fresh ``torch.empty`` of 2^24 float32 elements (64 MiB), advised onto huge pages
or not, and times its first ``fill_`` (page faults and the system's clearing of each page) and a
second one (the memory bandwidth alone), on torch's threads, after a pause. On a virtual machine
that reports free memory to its host (virtio-balloon free page reporting), a huge page built from
a reported block has to be backed by the host again, which makes huge-page faults slow and erratic
where 4 KiB ones stay steady; the pool of freed outputs (``gelulab.torch.pool``) avoids both. The
kibibytes this machine reported to its host during each row are shown where the kernel exposes them.

    python benchmarks/fault_costs.py
    python benchmarks/fault_costs.py --pauses 0,1 --calls 5 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from gelulab.kernels.cpu.memory import advise_huge_pages

REPORTED = Path("/sys/module/page_reporting/parameters/reported_kib")


def reported_kib() -> int | None:
    try:
        return int(REPORTED.read_text())
    except (OSError, ValueError):
        return None


def first_and_second_fill_ms(elements: int, huge: bool) -> tuple[float, float]:
    t = torch.empty(elements)
    if huge:
        advise_huge_pages(t.data_ptr(), t.nbytes)
    start = time.perf_counter()
    t.fill_(1.0)
    middle = time.perf_counter()
    t.fill_(2.0)
    end = time.perf_counter()
    return (middle - start) * 1e3, (end - middle) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log2-size", type=int, default=24, help="float32 elements as a power of two (default 24)")
    parser.add_argument("--pauses", default="0,0.3,2", help="seconds of pause before each call (default 0,0.3,2)")
    parser.add_argument("--calls", type=int, default=8, help="calls per row (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    if not 10 <= args.log2_size <= 30 or args.calls < 1 or args.threads < 1:
        parser.error("--log2-size must lie in 10..30, --calls and --threads must be positive")
    try:
        pauses = [float(p) for p in args.pauses.split(",")]
    except ValueError:
        parser.error(f"bad --pauses {args.pauses!r}; use e.g. 0,0.3,2")
    if any(p < 0 for p in pauses):
        parser.error("--pauses must be 0 or more")
    torch.set_num_threads(args.threads)
    elements = 1 << args.log2_size
    print(f"{elements * 4 >> 20} MiB float32, {args.threads} threads, {args.calls} calls per row")
    print("| pause (s) | pages | first fill, each call (ms) | median | second fill (ms) | reported to host (KiB) |")
    print("|---|---|---|---|---|---|")
    for pause in pauses:
        for huge in (False, True):
            before = reported_kib()
            firsts, seconds = [], []
            for _ in range(args.calls):
                time.sleep(pause)
                first, second = first_and_second_fill_ms(elements, huge)
                firsts.append(first)
                seconds.append(second)
            after = reported_kib()
            reported = "-" if before is None or after is None else str(after - before)
            print(f"| {pause:g} | {'2 MiB' if huge else '4 KiB'} | {', '.join(f'{f:.1f}' for f in firsts)} | "
                  f"{statistics.median(firsts):.1f} | {statistics.median(seconds):.1f} | {reported} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
