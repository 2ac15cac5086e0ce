"""The full CPU bench of the issue's targets, as one command (a thin wrapper over ``gelulab bench``).

float32, 2^10..2^26 elements (every other power of two), 1 and 2 threads, gelu / gelu_tanh / silu,
forward (allocating and out=) and forward + backward, against a copy and torch eager/compiled;
peak memory of GEGLU/SwiGLU forward + backward at 2^24 elements. Writes results/bench/cpu.json
(which ``gelulab report`` reuses) and results/bench/cpu.png. Other processes distort timings on a
small machine: the JSON records the load average before and after.

    python benchmarks/cpu_bench.py
"""

from __future__ import annotations

import sys

from gelulab.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--log2-sizes", "10-26", "--threads", "1,2", "--repeats", "9", *sys.argv[1:]]))
