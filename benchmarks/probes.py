"""Reference measurements the suite reports beside the rows: matmul ceilings and CLI cold start."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ganedge.runtime.cores import physical_cores

MATMUL_SIZE = 1024
MIN_SAMPLES = 5


def matmul_ceiling(dtype: torch.dtype, seconds: float, threads: int | None = None,
                   size: int = MATMUL_SIZE) -> float:
    """Median GFLOP/s of a square torch matmul on this machine's physical cores (best case for
    any dense layer: what the convolutions' GFLOP/s are a fraction of)."""
    torch.set_num_threads(threads or physical_cores())
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    for _ in range(3):
        a @ b
    return _matmul_gflops(a, b, seconds)


def numpy_matmul_ceiling(seconds: float, size: int = MATMUL_SIZE) -> float:
    """The same ceiling measured through numpy's BLAS, fp32."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    return _matmul_gflops(a, b, seconds)


def _matmul_gflops(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray,
                   seconds: float) -> float:
    """Median GFLOP/s of ``a @ b`` for square (N, N) operands (2·N³ FLOPs a product), timed for
    ``seconds`` and at least MIN_SAMPLES products so a short budget still gives a median."""
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < MIN_SAMPLES:
        begin = time.perf_counter()
        a @ b
        samples.append(time.perf_counter() - begin)
    return 2 * len(a) ** 3 / statistics.median(samples) / 1e9


def cli_cold_start(model: Path, repeats: int, folder: Path) -> dict[str, float]:
    """Median wall ms of fresh ``ganedge`` processes: --help, info, sample one image."""
    commands = {
        "ganedge --help": ["--help"],
        "ganedge info": ["info", str(model), "--provider", "cpu"],
        "ganedge sample -n 1": ["sample", str(model), "-n", "1", "-o", str(folder / "one.png"),
                                "--provider", "cpu"],
    }
    env = {**os.environ, "NO_COLOR": "1"}
    result = {}
    for name, args in commands.items():
        samples = []
        for _ in range(repeats):
            begin = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ganedge", *args], check=True, env=env,
                           capture_output=True)
            samples.append(time.perf_counter() - begin)
        result[name] = statistics.median(samples) * 1e3
    return result
