"""A quick, interleaved speed comparison of two graphs of one generator on this machine's CPU.

It decides nothing by wall-clock alone in tests; at export time it tells the user whether a graph
rewrite or a reduced-precision variant is really faster here, with medians after warm-up, through
the same timing code as ``ganedge bench``.
"""

from __future__ import annotations

from dataclasses import replace

import onnx

from exports.scratch import scratch_files
from ganedge.bench import BenchConfig, run_bench
from ganedge.bench_onnx import onnx_candidate
from ganedge.contract import ModelContract

SPEED_BATCHES = (1, 64)
NOISE = 0.05  # relative difference a quick timing cannot resolve
QUICK = BenchConfig(batches=SPEED_BATCHES, budget_s=0.3, warmup_s=0.1, min_reps=3)


def speedups(baseline: onnx.ModelProto, candidate: onnx.ModelProto, contract: ModelContract,
             config: BenchConfig = QUICK) -> dict[int, float]:
    """Batch size → baseline median latency / candidate median latency (>1: candidate faster)."""
    with scratch_files({"baseline": baseline, "candidate": candidate}, contract) as paths:
        rows = run_bench([replace(onnx_candidate(paths["baseline"], "cpu", label="baseline"), baseline=True),
                          onnx_candidate(paths["candidate"], "cpu", label="candidate")],
                         contract.latent_dim, config)
    return {r.batch: r.speedup for r in rows
            if r.label == "candidate" and r.speedup is not None}


def verdict(ratios: dict[int, float]) -> str:
    """"faster", "slower", "mixed" or "same"; ratios within ±5% of 1 count as the same speed,
    which a quick timing cannot tell apart."""
    faster = any(r > 1 + NOISE for r in ratios.values())
    slower = any(r < 1 - NOISE for r in ratios.values())
    return {(True, False): "faster", (False, True): "slower", (True, True): "mixed"}.get(
        (faster, slower), "same")


def describe(ratios: dict[int, float], than: str) -> str:
    """E.g. "faster than fp32: 1.80× at batch 1, 1.42× at batch 64" — the words follow the numbers."""
    if not ratios:
        return f"speed vs {than} not measured"
    parts = ", ".join(f"{ratio:.2f}× at batch {batch}" for batch, ratio in sorted(ratios.items()))
    words = {"faster": f"faster than {than}", "slower": f"SLOWER than {than}",
             "mixed": f"mixed vs {than}", "same": f"same speed as {than}"}
    return f"{words[verdict(ratios)]}: {parts}"
