"""The speed wing: every timing in ganedge goes through here.

- :mod:`ganedge.bench.timing`: candidates, rows, and the timing loop (each candidate alone in
  its own worker process);
- :mod:`ganedge.bench.candidates`: ONNX Runtime candidates (ganedge's runtime, plain ORT);
- :mod:`ganedge.bench.report`: the machine, JSON/CSV/Markdown and the table;
- :mod:`ganedge.bench.graphstats`: FLOPs per image and precision of an ONNX graph.

PyTorch candidates live outside the torch-free runtime, in :mod:`torchref`.

Example:
    >>> from ganedge.bench import BenchConfig, run_bench
    >>> from ganedge.bench.candidates import model_candidates
    >>> rows = run_bench(model_candidates(["model.onnx"], ["cpu"]), 64, BenchConfig())  # doctest: +SKIP
"""

from ganedge.bench.timing import (FAILED, OK, SCHEMA, BenchConfig, BenchRow, Candidate, RunFn,
                                  Starter, measure, measure_isolated, run_bench)

__all__ = ["FAILED", "OK", "SCHEMA", "BenchConfig", "BenchRow", "Candidate", "RunFn", "Starter",
           "measure", "measure_isolated", "run_bench"]
