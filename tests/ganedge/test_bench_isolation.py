"""`ganedge bench` compares runtimes as if each ran alone: its torch-eager/ganedge ratio agrees with
the ratio of the same two candidates timed in two fully separate processes, and its worker
processes load nothing of the caller's.

In one process, ONNX Runtime's idle workers kept spinning after each run and stole the cores from
the torch call that followed, inflating "vs eager" several-fold. Ratios only, in a generous band:
no wall-clock assert.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ganedge.bench import BenchConfig, RunFn, measure_isolated
from ganedge.runtime.cores import usable_cpus
from tests.conftest import run_cli

BATCH = 8
BUDGET = "0.3"
BAND = (0.4, 2.5)  # shared CI machines are noisy; the contamination was 3-7×
ROUNDS = 3

ALONE = """
import sys
from ganedge.bench import BenchConfig, measure
from ganedge.sampling.latents import latents_for_seeds
kind, path, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "torch":
    from exports.torch_candidates import torch_candidates
    candidate = torch_candidates(path, ("eager",))[0]
else:
    from ganedge.bench.candidates import onnx_candidate
    candidate = onnx_candidate(path, "cpu")
z = latents_for_seeds(range(batch), 64)
m = measure(candidate.start, {batch: z}, BenchConfig(batches=(batch,), budget_s=float(sys.argv[4])))
samples = sorted(m[batch].samples)
print(samples[len(samples) // 2])
"""


def _alone(kind: str, path: Path) -> float:
    """Median seconds of one candidate timed in a process of its own."""
    result = subprocess.run([sys.executable, "-c", ALONE, kind, str(path), str(BATCH), BUDGET],
                            capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_eager_ratio_matches_separate_processes(trained_run: Path, exported_model: Path) -> None:
    if os.getloadavg()[0] > 2 * usable_cpus():
        # two-thread torch on oversubscribed cores waits on descheduled threads at every layer:
        # its times swing 10-20× call to call, and no ratio means anything
        pytest.skip(f"machine oversubscribed (load {os.getloadavg()[0]:.0f} on "
                    f"{usable_cpus()} CPUs)")
    ckpt = trained_run / "ckpt.pt"
    report = json.loads(run_cli("bench", str(exported_model), "--compare-torch", str(ckpt),
                                "--no-torch-compile", "--batch", str(BATCH), "--budget", BUDGET,
                                "--provider", "cpu", "--rounds", str(ROUNDS), "--json", "-").stdout)
    eager, ours = report["rows"]
    assert (eager["label"], ours["label"]) == ("torch eager", "ganedge")
    in_bench = ours["speedup"]
    # alternated like the bench's rounds, so drift of a shared machine hits both alike; the
    # fastest round of each, as the bench reports, so one round slowed by other work counts less
    eager_s, ours_s = [], []
    for _ in range(ROUNDS):
        eager_s.append(_alone("torch", ckpt))
        ours_s.append(_alone("onnx", exported_model))
    separate = min(eager_s) / min(ours_s)
    assert BAND[0] <= in_bench / separate <= BAND[1], (in_bench, separate)


@dataclass(frozen=True)
class ReportImports:
    """A starter whose runner reports, as its "provider", whether torch is loaded in the worker."""

    exit_code: int | None = None  # die with this code instead

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        if self.exit_code is not None:
            os._exit(self.exit_code)
        return (lambda z: np.zeros((len(z), 1, 2, 2), np.float32)), \
            f"torch loaded: {'torch' in sys.modules}"


INPUTS = {2: np.zeros((2, 4), np.float32)}
TINY = BenchConfig(batches=(2,), budget_s=0.01, warmup_s=0.0)


def test_the_worker_imports_only_what_its_candidate_needs() -> None:
    import torch  # noqa: F401  (loaded here, in the caller: it must not follow into the worker)

    measured = measure_isolated(ReportImports(), INPUTS, TINY)[2]
    assert measured.error == "" and measured.provider_used == "torch loaded: False"


def test_a_worker_that_dies_or_cannot_start_fails_its_rows_with_the_reason() -> None:
    died = measure_isolated(ReportImports(exit_code=7), INPUTS, TINY)[2]
    assert died.error == "worker process failed: exit code 7" and not died.samples
    in_main = type("InMain", (ReportImports,), {"__module__": "__main__"})()
    refused = measure_isolated(in_main, INPUTS, TINY)[2]
    assert "InMain is defined in __main__" in refused.error
