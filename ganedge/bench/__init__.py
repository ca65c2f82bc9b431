"""The speed wing: every timing in ganedge goes through here.

- :mod:`ganedge.bench.timing`: candidates, rows, the timing loop (each candidate alone in its
  own worker process, several rounds), parity tolerances and the uncertain-ratio flag;
- :mod:`ganedge.bench.candidates`: ONNX candidates: a model through ``ganedge.load`` (what
  ``ganedge sample`` runs), and the plain ``ort.InferenceSession.run`` reference;
- :mod:`ganedge.bench.worker`: the fresh interpreter each candidate is timed in;
- :mod:`ganedge.bench.report`: the machine, JSON/CSV/Markdown and the table;
- :mod:`ganedge.bench.graphstats`: FLOPs per image and precision of an ONNX graph.

PyTorch candidates live outside the torch-free runtime, in :mod:`exports.torch_candidates`.

Example:
    >>> from ganedge.bench import BenchConfig, run_bench
    >>> from ganedge.bench.candidates import model_candidates
    >>> rows = run_bench(model_candidates(["model.onnx"], ["cpu"]),  # doctest: +SKIP
    ...                  64, BenchConfig())
"""

from ganedge.bench.timing import (
    FAILED,
    OK,
    PARITY_TOLERANCE,
    SCHEMA,
    BenchConfig,
    BenchRow,
    Candidate,
    RunFn,
    Starter,
    Tolerance,
    measure,
    measure_isolated,
    run_bench,
    spreads_overlap,
    tolerance_for,
    with_speedups,
)

__all__ = ["FAILED", "OK", "PARITY_TOLERANCE", "SCHEMA", "BenchConfig", "BenchRow", "Candidate",
           "RunFn", "Starter", "Tolerance", "measure", "measure_isolated", "run_bench",
           "spreads_overlap", "tolerance_for", "with_speedups"]
